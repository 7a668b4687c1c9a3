// Warning levels (GB/T: 1 blue, 2 yellow, 3 orange, 4 red; 0 none) and what colours a site.
import { t } from './i18n.js';

export const LEVELS = [1, 2, 3, 4];

export function levelName(level) {
  return t(`level.${level}`);
}

// The one place that decides a site's colour. Today the API's worst_level counts every open alarm;
// the alarm-handling issue adds worst_hazard_level (equipment faults counted apart): it wins once sent.
export function siteLevel(properties) {
  return properties.worst_hazard_level ?? properties.worst_level ?? 0;
}

// Alarms a duty officer must still act on: open (unacknowledged) or acknowledged, and cleared ones
// that wait to be closed.
export const ACTIVE_STATUSES = ['open', 'acknowledged', 'cleared'];

// Shelved by an officer (hidden from the desk and silent) until shelved_until_ms; the API's list
// measures it against the clock, so does the page.
export function isShelved(alarm, now = Date.now()) {
  return alarm.shelved_until_ms != null && alarm.shelved_until_ms > now;
}

export const CATEGORIES = ['hazard', 'fault'];

// The desk's order: live conditions before cleared ones, then highest level, then oldest.
export function deskOrder(a, b) {
  return (a.status === 'cleared') - (b.status === 'cleared') || b.level - a.level || a.opened_ms - b.opened_ms;
}
