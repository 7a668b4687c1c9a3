// A channel's history as a chart (uPlot, loaded when first needed): the mean as a line, min to max
// as a band, time in the command center's zone; marks are vertical lines (an alarm's raise, its clear).
import { html, useEffect, useRef } from './html.js';
import { t } from './i18n.js';
import { clockTime, dateTime, dayOf, number, timeZone } from './format.js';

const HEIGHT = 260;
const AXIS = { stroke: '#93a3b5', grid: { stroke: '#243243', width: 1 }, ticks: { stroke: '#243243' } };

function timeLabels(_u, splits, _axis, _space, increment) {
  return splits.map((s) => (increment >= 86400 ? dayOf(s * 1000) : clockTime(s * 1000)));
}

function drawMarks(marks) {
  return (u) => {
    const { ctx, bbox } = u;
    for (const mark of marks) {
      const x = Math.round(u.valToPos(mark.ms / 1000, 'x', true));
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.save();
      ctx.strokeStyle = mark.color;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.restore();
    }
  };
}

// buckets: the API's history data ({start_ms, min, max, mean, last, count})
export function Chart({ buckets, unit, marks = [], window: span }) {
  const element = useRef(null);
  useEffect(() => {
    const box = element.current;
    let plot = null;
    let cancelled = false;
    const resized = new ResizeObserver(() => plot?.setSize({ width: box.clientWidth, height: HEIGHT }));
    import('uplot').then(({ default: uPlot }) => {
      if (cancelled) return;
      const data = [buckets.map((b) => b.start_ms / 1000), buckets.map((b) => b.min),
        buckets.map((b) => b.mean), buckets.map((b) => b.max)];
      const value = (_u, v) => (v == null ? '—' : `${number(v)} ${unit ?? ''}`);
      plot = new uPlot({
        width: box.clientWidth, height: HEIGHT,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone()),
        scales: { x: { time: true, range: span ? () => [span[0] / 1000, span[1] / 1000] : undefined } },
        series: [
          { label: t('chart.time'), value: (_u, v) => (v == null ? '—' : dateTime(v * 1000)) },
          { label: t('chart.min'), stroke: '#5d7fa3', width: 1, value },
          { label: t('chart.mean'), stroke: '#6fc3ff', width: 2, value },
          { label: t('chart.max'), stroke: '#5d7fa3', width: 1, value },
        ],
        bands: [{ series: [3, 1], fill: 'rgba(111, 195, 255, 0.12)' }],
        axes: [{ ...AXIS, values: timeLabels }, { ...AXIS, label: unit ?? '', size: 60 }],
        hooks: { draw: [drawMarks(marks)] },
        cursor: { drag: { x: true, y: false } },
      }, data, box);
      resized.observe(box);
    });
    return () => {
      cancelled = true;
      resized.disconnect();
      plot?.destroy();
    };
  }, [buckets, unit, marks, span]);
  return html`<div class="chart" ref=${element} data-points=${buckets.length}></div>`;
}
