// How things the API names by id are shown to a person: channels, rules, actors, statuses, sites.
import { named, t } from './i18n.js';

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
