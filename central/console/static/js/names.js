// How things the API names by id are shown to a person: channels, rules, actors, statuses, sites.
import { named, t } from './i18n.js';
import { withUnit } from './format.js';

// "gw/gnss-03/north_mm" -> "gnss-03 · north_mm"; the central's pseudo-channels get words.
export function channelLabel(key) {
  const [gateway, device, point] = key.split('/');
  if (device === '_gateway') return t('channel.gateway', { gateway });
  if (device === '_site') return t('channel.site');
  if (point === '_device') return t('channel.device', { device });
  return `${device} · ${point}`;
}

// A pseudo-channel carries events only: there is no curve to draw.
export function hasReadings(key) {
  const [, device, point] = key.split('/');
  return !device.startsWith('_') && !point.startsWith('_');
}

export function ruleLabel(rule) {
  return named('rule', rule);
}

export function statusLabel(status) {
  return t(`status.${status}`);
}

export function actorLabel(actor) {
  if (actor === 'central') return t('actor.central');
  if (actor.startsWith('gateway ')) return t('actor.gateway', { id: actor.slice('gateway '.length) });
  return actor;
}

export function siteName(store, siteId) {
  if (!siteId) return t('site.none');
  return store.state.sites.get(siteId)?.name ?? siteId;
}

export function siteTypeLabel(type) {
  return named('site_type', type);
}

export function categoryLabel(category) {
  return t(`category.${category}`);
}

// What fired, in the page's language, from an alarm's (or a timeline entry's) structured fields:
// "位移速率 12.5 mm/h,上升超过阈值 10 mm/h". An edge from before them sends none: its English message.
export function causeText(x, channelUnit) {
  if (!x.criterion) return x.message ?? withUnit(x.value, channelUnit);
  const unit = x.unit ?? channelUnit;
  const criterion = named('criterion', x.criterion);
  if (x.value == null) return criterion;
  const value = withUnit(x.value, unit);
  if (x.threshold == null) return t('cause.value', { criterion, value });
  const direction = t(x.direction === 'falling' ? 'cause.falling' : 'cause.rising');
  return t('cause.crossed', { criterion, value, direction, threshold: withUnit(x.threshold, unit) });
}
