// Times in the command center's time zone (config.time_zone), with the date; numbers and durations.
import { language, named, t } from './i18n.js';

let zone = 'Asia/Shanghai';
let stamp = null;

export function setTimeZone(name) {
  zone = name;
  stamp = null;
}

export function timeZone() {
  return zone;
}

function fields(ms) {
  stamp ??= new Intl.DateTimeFormat('en-CA', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const out = {};
  for (const part of stamp.formatToParts(new Date(ms))) out[part.type] = part.value;
  return out;
}

// 2025-11-29 03:12:45
export function dateTime(ms) {
  if (ms == null) return '—';
  const f = fields(ms);
  return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}`;
}

// 11-29 03:12
export function shortDateTime(ms) {
  const f = fields(ms);
  return `${f.month}-${f.day} ${f.hour}:${f.minute}`;
}

export function clockTime(ms) {
  const f = fields(ms);
  return `${f.hour}:${f.minute}`;
}

export function dayOf(ms) {
  const f = fields(ms);
  return `${f.month}-${f.day}`;
}

// "UTC+8" for the header clock
export function zoneOffset(ms = Date.now()) {
  const name = new Intl.DateTimeFormat('en', { timeZone: zone, timeZoneName: 'shortOffset' })
    .formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
  return name ? name.value.replace('GMT', 'UTC') : zone;
}

// 2 h 13 min, 45 s; the largest two units
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return t('duration.dh', { d, h });
  if (h) return t('duration.hm', { h, m });
  if (m) return t('duration.m', { m });
  return t('duration.s', { s });
}

export function ago(ms, now = Date.now()) {
  return ms > now ? t('time.ahead', { d: duration(ms - now) }) : t('time.ago', { d: duration(now - ms) });
}

export function number(value) {
  if (value == null || Number.isNaN(value)) return '—';
  const size = Math.abs(value);
  const digits = size >= 1000 ? 0 : size >= 100 ? 1 : size >= 1 ? 2 : 3;
  return new Intl.NumberFormat(language() === 'zh' ? 'zh-CN' : 'en', { maximumFractionDigits: digits })
    .format(value);
}

export function withUnit(value, unit) {
  return unit ? `${number(value)} ${named('unit', unit)}` : number(value);
}

export function bytes(n) {
  if (n == null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}
