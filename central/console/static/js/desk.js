// The alarm desk: the active alarms, live conditions first, highest level first, then oldest; filters
// by category, site, level and status (kept in this browser); shelved alarms apart, one click away.
// New orange and red alarms flash.
import { html, useState } from './html.js';
import { t } from './i18n.js';
import { ago, shortDateTime } from './format.js';
import { ACTIVE_STATUSES, CATEGORIES, LEVELS, deskOrder, isShelved, levelName } from './levels.js';
import { categoryLabel, causeText, channelLabel, ruleLabel, siteName, statusLabel } from './names.js';

const SAVED = 'fieldwatch.desk';
const ALL = { category: '', site: '', level: 0, status: '' };

function savedFilter() {
  try {
    return { ...ALL, ...JSON.parse(localStorage.getItem(SAVED) ?? '{}') };
  } catch {
    return ALL;
  }
}

function matches(filter) {
  return (a) => (!filter.category || a.category === filter.category)
    && (!filter.site || a.site_id === filter.site) && a.level >= filter.level
    && (!filter.status || a.status === filter.status);
}

export function LevelBadge({ level }) {
  return html`<span class="level-badge" data-level=${level}>${levelName(level)}</span>`;
}

function Row({ store, alarm, now }) {
  const flash = store.isFlashing(alarm.id) ? ' flash' : '';
  return html`<li><a class=${`alarm-row status-${alarm.status}${flash}`} href=${`#/alarms/${alarm.id}`}
      data-alarm-id=${alarm.id} data-level=${alarm.level} data-status=${alarm.status} data-category=${alarm.category}>
    <${LevelBadge} level=${alarm.level} />
    <span class="row-main">
      <span class="row-title"><b>${siteName(store, alarm.site_id)}</b> ${channelLabel(alarm.channel)}</span>
      <span class="row-message">${alarm.category === 'fault' && html`<span class="fault-tag">${categoryLabel('fault')}</span> `}${ruleLabel(alarm.rule)} · ${causeText(alarm)}</span>
    </span>
    <span class="row-side">
      <span class="status" data-status=${alarm.status}>${statusLabel(alarm.status)}</span>
      <time title=${shortDateTime(alarm.opened_ms)}>${shortDateTime(alarm.opened_ms)}</time>
      <small>${isShelved(alarm, now) ? t('desk.shelved_until', { until: shortDateTime(alarm.shelved_until_ms) }) : ago(alarm.opened_ms, now)}</small>
    </span>
  </a></li>`;
}

function Counts({ alarms }) {
  const live = alarms.filter((a) => a.status !== 'cleared');
  return html`<span class="counts">${[4, 3, 2, 1].map((level) => {
    const n = live.filter((a) => a.level === level).length;
    return html`<span class="count" data-level=${level} data-count=${n} title=${levelName(level)}>${n}</span>`;
  })}</span>`;
}

export function Desk({ store }) {
  const [filter, setFilter] = useState(savedFilter);
  const [showShelved, setShowShelved] = useState(false);
  const change = (name) => (event) => {
    const value = name === 'level' ? Number(event.currentTarget.value) : event.currentTarget.value;
    const next = { ...filter, [name]: value };
    localStorage.setItem(SAVED, JSON.stringify(next));
    setFilter(next);
  };
  const now = Date.now();
  const every = [...store.state.alarms.values()];
  const shelved = every.filter((a) => isShelved(a, now));
  const all = every.filter((a) => !isShelved(a, now));
  const shown = (showShelved ? shelved : all).filter(matches(filter)).sort(deskOrder);
  const flashing = all.some((a) => store.isFlashing(a.id));
  const sites = [...store.state.sites.values()].sort((a, b) => a.name.localeCompare(b.name));
  return html`<section class=${`desk card${flashing ? ' flash' : ''}`} aria-label=${t('desk.title')}>
    <header class="desk-head">
      <h2>${t('desk.title')}</h2>
      <${Counts} alarms=${all} />
      <button type="button" class="ghost" data-desk=${showShelved ? 'shelved' : 'active'} aria-pressed=${showShelved}
        onClick=${() => setShowShelved(!showShelved)}>
        ${showShelved ? t('desk.active') : t('desk.shelved', { n: shelved.length })}</button>
    </header>
    <div class="filters">
      <select name="category" aria-label=${t('filter.category')} value=${filter.category} onChange=${change('category')}>
        <option value="">${t('filter.all_categories')}</option>
        ${CATEGORIES.map((c) => html`<option value=${c}>${categoryLabel(c)}</option>`)}
      </select>
      <select name="site" aria-label=${t('filter.site')} value=${filter.site} onChange=${change('site')}>
        <option value="">${t('filter.all_sites')}</option>
        ${sites.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      </select>
      <select name="level" aria-label=${t('filter.level')} value=${filter.level} onChange=${change('level')}>
        <option value="0">${t('filter.all_levels')}</option>
        ${LEVELS.slice().reverse().map((l) => html`<option value=${l}>${t('filter.at_least', { level: levelName(l) })}</option>`)}
      </select>
      <select name="status" aria-label=${t('filter.status')} value=${filter.status} onChange=${change('status')}>
        <option value="">${t('filter.all_active')}</option>
        ${ACTIVE_STATUSES.map((s) => html`<option value=${s}>${statusLabel(s)}</option>`)}
      </select>
    </div>
    ${store.state.alarmsTruncated && html`<p class="hint">${t('desk.truncated')}</p>`}
    ${shown.length
      ? html`<ol class="alarm-list">${shown.map((a) => html`<${Row} key=${a.id} store=${store} alarm=${a} now=${now} />`)}</ol>`
      : html`<p class="empty">${!store.state.loaded ? t('common.loading') : t(showShelved ? 'desk.shelved_empty' : 'desk.empty')}</p>`}
  </section>`;
}
