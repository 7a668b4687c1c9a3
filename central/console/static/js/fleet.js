// The fleet: every gateway with its link state, when it was last heard, its outbox backlog (from its
// latest heartbeat), its version, and the health of its buses and devices.
import { html, useEffect } from './html.js';
import { t } from './i18n.js';
import { ago, bytes, dateTime, duration, number } from './format.js';
import { siteName } from './names.js';

const REFRESH_MS = 15_000;

function busHealth(buses) {
  const list = Object.values(buses ?? {});
  let devices = 0;
  let online = 0;
  let requests = 0;
  let timeouts = 0;
  for (const bus of list) {
    for (const device of Object.values(bus.devices ?? {})) {
      devices += 1;
      online += device.online === false ? 0 : 1;
    }
    requests += bus.requests ?? 0;
    timeouts += bus.timeouts ?? 0;
  }
  const connected = list.filter((b) => b.connected !== false).length;
  return { buses: list.length, connected, devices, online, timeoutShare: requests ? timeouts / requests : 0 };
}

function Row({ store, gateway, now }) {
  const hb = gateway.heartbeat ?? {};
  const outbox = hb.outbox ?? {};
  const health = busHealth(hb.buses);
  const drops = Object.values(hb.drops ?? {}).reduce((sum, n) => sum + n, 0);
  const dead = typeof hb.dead_letters === 'object' ? hb.dead_letters?.rows ?? 0 : hb.dead_letters ?? 0;
  const problems = [
    hb.clock_synchronised === false && t('fleet.clock_unsync'),
    drops > 0 && t('fleet.drops', { n: number(drops) }),
    dead > 0 && t('fleet.dead_letters', { n: number(dead) }),
    outbox.healthy === false && t('fleet.outbox_unhealthy'),
  ].filter(Boolean);
  return html`<tr data-gateway-id=${gateway.id} data-status=${gateway.status}>
    <td><b>${gateway.id}</b><br /><small class="muted">${siteName(store, gateway.site_id)}</small></td>
    <td><span class=${`link-state ${gateway.status}`}>${t(`gateway.${gateway.status}`)}</span></td>
    <td>${dateTime(gateway.last_seen_ms)}<br /><small class="muted">${ago(gateway.last_seen_ms, now)}</small></td>
    <td class="num">${outbox.rows == null ? '—' : t('fleet.rows', { n: number(outbox.rows) })}<br />
      <small class="muted">${bytes(outbox.bytes)}${outbox.oldest_unacked_ms ? ` · ${t('fleet.oldest', { d: duration(outbox.oldest_unacked_ms) })}` : ''}</small></td>
    <td>${gateway.version ?? '—'}</td>
    <td>${health.buses ? html`${t('fleet.buses', { connected: health.connected, total: health.buses })}<br />
      <small class="muted">${t('fleet.devices', { online: health.online, total: health.devices })} ·
        ${t('fleet.timeouts', { share: (health.timeoutShare * 100).toFixed(1) })}</small>` : '—'}</td>
    <td>${problems.length ? html`<span class="quality doubtful">${problems.join(' · ')}</span>` : html`<span class="quality good">${t('fleet.ok')}</span>`}</td>
  </tr>`;
}

export function FleetPage({ store }) {
  useEffect(() => {
    const timer = setInterval(() => store.refreshGateways().catch(() => {}), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const gateways = [...store.state.gateways.values()]
    .sort((a, b) => (a.status === 'silent' ? 0 : 1) - (b.status === 'silent' ? 0 : 1) || a.id.localeCompare(b.id));
  const now = Date.now();
  return html`<div class="page fleet-page">
    <header class="page-head"><a class="back" href="#/">${t('nav.back')}</a><h1>${t('fleet.title')}</h1>
      <span class="muted">${t('fleet.summary', { n: gateways.length, silent: gateways.filter((g) => g.status === 'silent').length })}</span></header>
    <section class="card"><table class="table fleet">
      <thead><tr><th>${t('fleet.gateway')}</th><th>${t('fleet.link')}</th><th>${t('fleet.last_seen')}</th>
        <th class="num">${t('fleet.outbox')}</th><th>${t('fleet.version')}</th><th>${t('fleet.health')}</th><th>${t('fleet.notes')}</th></tr></thead>
      <tbody>${gateways.map((g) => html`<${Row} key=${g.id} store=${store} gateway=${g} now=${now} />`)}</tbody>
    </table>${gateways.length ? null : html`<p class="empty">${t('fleet.none')}</p>`}</section>
  </div>`;
}
