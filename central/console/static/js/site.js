// A site: its devices and their latest values (units, quality; bad and stale marked), a chart of the
// chosen channel over a chosen period (the API's history buckets), and the site's alarm history.
import { api } from './api.js';
import { html, useEffect, useState } from './html.js';
import { t } from './i18n.js';
import { ago, dateTime, withUnit } from './format.js';
import { Chart } from './chart.js';
import { LevelBadge } from './desk.js';
import { deskOrder } from './levels.js';
import { channelLabel, hasReadings, ruleLabel, siteTypeLabel, statusLabel } from './names.js';
import { assess } from './quality.js';

const REFRESH_MS = 10_000;
const PERIODS = [ // [name, bucket, span]
  ['6h', '1m', 6 * 3_600_000], ['2d', '10m', 2 * 86_400_000], ['30d', '1h', 30 * 86_400_000],
  ['1y', '1d', 365 * 86_400_000],
];

function devicesOf(channels) {
  const devices = new Map();
  for (const c of channels) {
    if (c.device.startsWith('_') || c.point.startsWith('_')) continue;
    const id = `${c.gateway_id}/${c.device}`;
    if (!devices.has(id)) devices.set(id, { id, gateway: c.gateway_id, device: c.device, profile: c.profile, channels: [] });
    devices.get(id).channels.push(c);
  }
  return [...devices.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function Devices({ channels, latest, selected, onSelect }) {
  const now = Date.now();
  return html`<section class="card"><h2>${t('site.devices')}</h2>
    <table class="table devices">
      <thead><tr><th>${t('site.point')}</th><th class="num">${t('site.value')}</th><th>${t('site.time')}</th><th>${t('site.quality')}</th></tr></thead>
      ${devicesOf(channels).map((d) => html`<tbody>
        <tr class="group"><th colspan="4">${d.device} <small class="muted">${d.gateway} · ${d.profile}</small></th></tr>
        ${d.channels.map((c) => {
          const reading = latest.get(c.key);
          const quality = reading ? assess(reading, now) : { state: 'none', text: t('quality.none') };
          return html`<tr class=${`reading q-${quality.state}${selected === c.key ? ' selected' : ''}`} data-channel=${c.key} data-quality=${quality.state}>
            <td><button type="button" class="link" onClick=${() => onSelect(c.key)}>${c.point}</button></td>
            <td class="num">${reading ? withUnit(reading.value, c.unit) : '—'}</td>
            <td>${reading ? html`${dateTime(reading.ts_ms)} <small class="muted">${ago(reading.ts_ms, now)}</small>` : '—'}</td>
            <td><span class=${`quality ${quality.state}`}>${quality.text}</span></td>
          </tr>`;
        })}
      </tbody>`)}
    </table></section>`;
}

function ChannelChart({ channel, latestTs }) {
  const [period, setPeriod] = useState(PERIODS[0]);
  const [buckets, setBuckets] = useState(null);
  const [span, setSpan] = useState(null);
  useEffect(() => setBuckets(null), [channel.key, period]);
  // read again with each new latest value (every 10 s): the chart follows the channel live
  useEffect(() => {
    const [, bucket, width] = period;
    const end = Math.max(Date.now(), latestTs ?? 0) + 60_000; // gateways' clocks may run ahead
    api.history({ channel: channel.key, bucket, start_ms: end - width, end_ms: end }).then((r) => {
      setSpan([end - width, end]);
      setBuckets(r.data);
    }, () => setBuckets([]));
  }, [channel.key, period, latestTs]);
  return html`<section class="card"><h2>${channelLabel(channel.key)} <small class="muted">${channel.unit}</small></h2>
    <div class="periods" role="group" aria-label=${t('chart.period')}>${PERIODS.map((p) => html`
      <button type="button" class=${p === period ? 'current' : ''} aria-pressed=${p === period} data-period=${p[0]}
        onClick=${() => setPeriod(p)}>${t(`period.${p[0]}`)}</button>`)}</div>
    ${buckets === null ? html`<p class="muted">${t('common.loading')}</p>`
      : buckets.length ? html`<${Chart} buckets=${buckets} unit=${channel.unit} window=${span} />`
        : html`<p class="muted">${t('chart.empty')}</p>`}
  </section>`;
}

function AlarmHistory({ alarms }) {
  return html`<section class="card"><h2>${t('site.alarm_history')}</h2>
    ${alarms.length ? html`<table class="table">
      <thead><tr><th>${t('alarm.level')}</th><th>${t('alarm.channel')}</th><th>${t('alarm.opened')}</th><th>${t('alarm.status')}</th></tr></thead>
      <tbody>${alarms.map((a) => html`<tr data-alarm-id=${a.id} data-level=${a.level}>
        <td><${LevelBadge} level=${a.max_level} /></td>
        <td><a href=${`#/alarms/${a.id}`}>${channelLabel(a.channel)}</a> <small class="muted">${ruleLabel(a.rule)}</small></td>
        <td class="when">${dateTime(a.opened_ms)}</td>
        <td><span class="status" data-status=${a.status}>${statusLabel(a.status)}</span></td>
      </tr>`)}</tbody></table>` : html`<p class="muted">${t('site.no_alarms')}</p>`}
  </section>`;
}

export function SitePage({ store, id }) {
  const site = store.state.sites.get(id);
  const [channels, setChannels] = useState(null);
  const [latest, setLatest] = useState(new Map());
  const [alarms, setAlarms] = useState([]);
  const [selected, setSelected] = useState(null);
  const activeCount = [...store.state.alarms.values()].filter((a) => a.site_id === id).length;
  useEffect(() => {
    api.channels({ site: id, limit: 10000 }).then((r) => setChannels(r.data), () => setChannels([]));
    const read = () => api.latest({ site: id, limit: 10000 }).then((r) => setLatest(new Map(r.data.map((x) => [x.channel, x]))), () => {});
    read();
    const timer = setInterval(read, REFRESH_MS);
    return () => clearInterval(timer);
  }, [id]);
  useEffect(() => {
    api.alarms({ site: id, limit: 100 })
      .then((r) => setAlarms(r.data.sort((a, b) => b.opened_ms - a.opened_ms)), () => {});
  }, [id, activeCount, store.state.live.up]);
  if (!site) return html`<div class="page"><p class="muted">${store.state.loaded ? t('site.unknown') : t('common.loading')}</p></div>`;
  // the chart shows the chosen channel; at first, the one with the site's highest active alarm
  const alarmed = [...store.state.alarms.values()].filter((a) => a.site_id === id && hasReadings(a.channel))
    .sort(deskOrder).map((a) => a.channel).find((key) => channels?.some((c) => c.key === key));
  const shown = selected ?? alarmed ?? devicesOf(channels ?? [])[0]?.channels[0]?.key;
  const channel = channels?.find((c) => c.key === shown);
  return html`<div class="page site-page" data-site-id=${site.id} data-level=${site.level}>
    <header class="page-head">
      <a class="back" href="#/">${t('nav.back')}</a>
      <h1><${LevelBadge} level=${site.level} /> ${site.name}</h1>
      <span class="muted">${siteTypeLabel(site.type)} · ${site.lat?.toFixed(4)}, ${site.lon?.toFixed(4)} · ${t('site.gateways', { list: site.gateways.join(', ') })}</span>
    </header>
    <div class="columns">
      <div class="column">${channels === null ? html`<p class="muted">${t('common.loading')}</p>`
        : html`<${Devices} channels=${channels} latest=${latest} selected=${shown} onSelect=${setSelected} />`}</div>
      <div class="column">
        ${channel ? html`<${ChannelChart} key=${channel.key} channel=${channel} latestTs=${latest.get(channel.key)?.ts_ms} />`
          : html`<section class="card"><p class="muted">${t('site.pick_channel')}</p></section>`}
        <${AlarmHistory} alarms=${alarms} />
      </div>
    </div>
  </div>`;
}
