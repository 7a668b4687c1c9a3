// One alarm: what fired and where (from the structured fields, in the page's language), its chart
// around the raise, its timeline in the central's order, and the officer's actions (actions.js).
import { Actions } from './actions.js';
import { api } from './api.js';
import { html, useEffect, useMemo, useNow, useState } from './html.js';
import { t } from './i18n.js';
import { dateTime, duration, withUnit } from './format.js';
import { Chart } from './chart.js';
import { LevelBadge } from './desk.js';
import { actorLabel, categoryLabel, causeText, channelLabel, hasReadings, ruleLabel, siteName, statusLabel } from './names.js';

const HOUR_MS = 3_600_000;
const LEVEL_COLOURS = { 1: '#2f7cf6', 2: '#f2c500', 3: '#ff8a00', 4: '#e5322d' };

function Countdown({ at }) {
  const now = useNow();
  return html`<span class="countdown">${at > now ? t('alarm.failure_in', { d: duration(at - now) }) : t('alarm.failure_passed')}</span>`;
}

function Cause({ store, alarm, unit }) {
  const rows = [
    [t('alarm.site'), html`<a href=${`#/sites/${encodeURIComponent(alarm.site_id ?? '')}`}>${siteName(store, alarm.site_id)}</a>`],
    [t('alarm.channel'), html`${channelLabel(alarm.channel)} <small class="muted">${alarm.channel}</small>`],
    [t('alarm.rule'), html`${ruleLabel(alarm.rule)} · <span data-category=${alarm.category}>${categoryLabel(alarm.category)}</span>`],
    [t('alarm.what'), html`<span class="cause-text">${causeText(alarm, unit)}</span>`],
    [t('alarm.opened'), dateTime(alarm.opened_ms)],
    [t('alarm.max_level'), html`<${LevelBadge} level=${alarm.max_level} />`],
  ];
  if (alarm.acknowledged_ms) rows.push([t('alarm.acknowledged'), `${dateTime(alarm.acknowledged_ms)} · ${alarm.acknowledged_by}`]);
  if (alarm.cleared_ms) rows.push([t('alarm.cleared'), dateTime(alarm.cleared_ms)]);
  if (alarm.closed_ms) rows.push([t('alarm.closed'), `${dateTime(alarm.closed_ms)} · ${alarm.closed_by}`]);
  if (alarm.handling) rows.push([t('alarm.handling'), alarm.handling]);
  if (alarm.assignee) rows.push([t('alarm.assignee'), alarm.assignee]);
  if (alarm.shelved_until_ms > Date.now()) {
    rows.push([t('alarm.shelved'), html`<span data-shelved-until=${alarm.shelved_until_ms}>${t('alarm.shelved_until',
      { until: dateTime(alarm.shelved_until_ms), by: alarm.shelved_by ?? '', reason: alarm.shelve_reason ?? '' })}</span>`]);
  }
  return html`<section class="card">
    <h2>${t('alarm.cause')}</h2>
    <table class="kv">${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>
    ${alarm.forecast && html`<div class="forecast" data-forecast=${alarm.forecast.failure_ts_ms}>
      <h3>${t('alarm.forecast')}</h3>
      <p><b>${dateTime(alarm.forecast.failure_ts_ms)}</b> <${Countdown} at=${alarm.forecast.failure_ts_ms} /></p>
      <p class="muted">${t('alarm.forecast_fit', { r2: alarm.forecast.r2.toFixed(2), n: alarm.forecast.points })}</p>
    </div>`}
  </section>`;
}

// The channel from an hour before the raise to the clear (or its latest reading), at most 6 h after.
function AlarmChart({ alarm, unit }) {
  const [buckets, setBuckets] = useState(null);
  const [span, setSpan] = useState(null);
  useEffect(() => {
    if (!hasReadings(alarm.channel)) return;
    api.latest({ channel: alarm.channel }).then(async (latest) => {
      const last = alarm.cleared_ms ?? latest.data[0]?.ts_ms ?? Date.now();
      const start = alarm.opened_ms - HOUR_MS;
      const end = Math.min(alarm.opened_ms + 6 * HOUR_MS, Math.max(alarm.opened_ms + HOUR_MS, last + 5 * 60_000));
      const history = await api.history({ channel: alarm.channel, bucket: '1m', start_ms: start, end_ms: end });
      setSpan([start, end]);
      setBuckets(history.data);
    }).catch(() => setBuckets([]));
  }, [alarm.id, alarm.cleared_ms]);
  const marks = useMemo(() => [
    { ms: alarm.opened_ms, color: LEVEL_COLOURS[alarm.max_level] ?? '#e7edf3' },
    ...(alarm.cleared_ms ? [{ ms: alarm.cleared_ms, color: '#3fb27f' }] : []),
  ], [alarm.opened_ms, alarm.cleared_ms, alarm.max_level]);
  let body;
  if (!hasReadings(alarm.channel)) body = html`<p class="muted">${t('alarm.no_curve')}</p>`;
  else if (buckets === null) body = html`<p class="muted">${t('common.loading')}</p>`;
  else if (!buckets.length) body = html`<p class="muted">${t('chart.empty')}</p>`;
  else body = html`<${Chart} buckets=${buckets} unit=${unit} marks=${marks} window=${span} />`;
  return html`<section class="card"><h2>${t('alarm.chart')}</h2>${body}</section>`;
}

// In the order the central recorded the changes; an edge's own time (its clock may run ahead) beside.
function Timeline({ entries, unit }) {
  const ordered = entries.slice().sort((a, b) => a.recorded_ms - b.recorded_ms);
  return html`<section class="card"><h2>${t('alarm.timeline')}</h2>
    <ol class="timeline">${ordered.map((e) => html`<li data-kind=${e.kind}>
      <time>${dateTime(e.recorded_ms)}${e.ts_ms !== e.recorded_ms && html`
        <small class="edge-time" title=${t('alarm.edge_time')}>${t('alarm.edge_time_short', { at: dateTime(e.ts_ms) })}</small>`}</time>
      <div>
        <b>${t(`kind.${e.kind}`)}</b>
        ${e.level ? html` <${LevelBadge} level=${e.level} />` : null}
        <span class="actor">${actorLabel(e.actor)}</span>
        ${e.value != null && html` <span class="muted">${e.criterion ? causeText(e, unit) : withUnit(e.value, unit)}</span>`}
        ${e.note && html`<p class="note">${e.note}</p>`}
      </div>
    </li>`)}</ol></section>`;
}

export function AlarmPage({ store, id }) {
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const [unit, setUnit] = useState(null);
  const live = store.state.alarms.get(Number(id));
  const load = () => api.alarm(id).then(setDetail, (e) => setError(e.status === 404 ? t('alarm.not_found') : e.message));
  useEffect(() => {
    load();
  }, [id, live?.updated_ms]);
  const alarm = detail?.alarm;
  useEffect(() => {
    if (!alarm || !hasReadings(alarm.channel)) return;
    const [gateway, device, point] = alarm.channel.split('/');
    api.channels({ gateway, device }).then((r) => setUnit(r.data.find((c) => c.point === point)?.unit ?? null));
  }, [alarm?.channel]);
  if (error) return html`<div class="page"><p class="error">${error}</p></div>`;
  if (!alarm) return html`<div class="page"><p class="muted">${t('common.loading')}</p></div>`;
  return html`<div class="page alarm-page" data-alarm-id=${alarm.id} data-level=${alarm.level} data-status=${alarm.status}>
    <header class="page-head">
      <a class="back" href="#/">${t('nav.back')}</a>
      <h1><${LevelBadge} level=${alarm.level} /> ${siteName(store, alarm.site_id)} · ${channelLabel(alarm.channel)}</h1>
      <span class="status big" data-status=${alarm.status}>${statusLabel(alarm.status)}</span>
    </header>
    <div class="columns">
      <div class="column">
        <${Cause} store=${store} alarm=${alarm} unit=${unit} />
        <${AlarmChart} alarm=${alarm} unit=${unit} />
      </div>
      <div class="column">
        <${Actions} alarm=${alarm} onDone=${load} />
        <${Timeline} entries=${detail.timeline} unit=${unit} />
      </div>
    </div>
  </div>`;
}
