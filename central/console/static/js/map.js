// The map pane and the popup of a site: its level, its open alarms and its latest key values.
import { api } from './api.js';
import { html, render, useEffect, useRef, useState } from './html.js';
import { t } from './i18n.js';
import { dateTime, withUnit } from './format.js';
import { deskOrder } from './levels.js';
import { createMapView } from './mapview.js';
import { channelLabel, siteTypeLabel } from './names.js';
import { LevelBadge } from './desk.js';

const KEY_VALUES = 6;

function LatestValues({ siteId, alarmChannels }) {
  const [rows, setRows] = useState(null);
  useEffect(() => {
    Promise.all([api.channels({ site: siteId, limit: 10000 }), api.latest({ site: siteId, limit: 10000 })]).then(([channels, latest]) => {
      const units = new Map(channels.data.map((c) => [c.key, c.unit]));
      const first = (r) => (alarmChannels.has(r.channel) ? 0 : 1);
      const sorted = latest.data.filter((r) => !r.channel.includes('/_'))
        .sort((a, b) => first(a) - first(b) || a.channel.localeCompare(b.channel));
      setRows(sorted.slice(0, KEY_VALUES).map((r) => ({ ...r, unit: units.get(r.channel) })));
    }, () => setRows([]));
  }, [siteId]);
  if (rows === null) return html`<p class="muted">${t('common.loading')}</p>`;
  if (!rows.length) return html`<p class="muted">${t('site.no_values')}</p>`;
  return html`<table class="kv">${rows.map((r) => html`<tr>
    <th>${channelLabel(r.channel)}</th>
    <td class=${r.quality ? 'bad' : ''}>${withUnit(r.value, r.unit)}</td></tr>`)}</table>`;
}

function SitePopup({ store, siteId }) {
  const site = store.state.sites.get(siteId);
  if (!site) return null;
  const alarms = [...store.state.alarms.values()].filter((a) => a.site_id === siteId).sort(deskOrder);
  return html`<div class="site-popup" data-popup-site=${siteId}>
    <h3><${LevelBadge} level=${site.level} /> ${site.name}</h3>
    <p class="muted">${siteTypeLabel(site.type)} · ${site.lat.toFixed(4)}, ${site.lon.toFixed(4)}</p>
    ${site.blind && html`<p class="blind-note" data-blind="true">${t('map.blind')}</p>`}
    ${site.faults > 0 && html`<p class="fault-note" data-faults=${site.faults}>${t('map.faults', { n: site.faults })}</p>`}
    <h4>${t('popup.open_alarms', { n: alarms.length })}</h4>
    ${alarms.length ? html`<ul class="popup-alarms">${alarms.slice(0, 5).map((a) => html`
      <li><a href=${`#/alarms/${a.id}`} data-level=${a.level}>
        <${LevelBadge} level=${a.level} /> ${channelLabel(a.channel)}
        <small>${dateTime(a.opened_ms)}</small></a></li>`)}</ul>` : html`<p class="muted">${t('popup.no_alarms')}</p>`}
    <h4>${t('popup.latest')}</h4>
    <${LatestValues} siteId=${siteId} alarmChannels=${new Set(alarms.map((a) => a.channel))} />
    <p><a class="more" href=${`#/sites/${encodeURIComponent(siteId)}`}>${t('popup.open_site')}</a></p>
  </div>`;
}

export function CountyMap({ store, config }) {
  const element = useRef(null);
  const view = useRef(null);
  useEffect(() => {
    view.current = createMapView(element.current, config, {
      renderPopup: (container, siteId) => render(siteId ? html`<${SitePopup} store=${store} siteId=${siteId} />` : null, container),
    });
    const resized = new ResizeObserver(() => view.current.invalidate());
    resized.observe(element.current);
    return () => {
      resized.disconnect();
      view.current.destroy();
    };
  }, []);
  useEffect(() => view.current.update(store.state));
  return html`<div class="map" ref=${element} aria-label=${t('map.title')}></div>`;
}
