// A reading's quality flags (protocols/quality.py) as a person reads them: bad (no usable value),
// doubtful (a value, with a warning), or stale (nothing new for STALE_MS).
import { t } from './i18n.js';

// The flags by bit and the no-value mask come from the central (config.quality), never a copy here.
let FLAGS = [];
let NO_VALUE = 0;
export function setQualityFlags(quality) {
  FLAGS = quality.flags;
  NO_VALUE = quality.no_value;
}
export const STALE_MS = 15 * 60_000;

export function assess(reading, now = Date.now()) {
  const flags = FLAGS.filter((name, bit) => name && reading.quality & (1 << bit));
  const words = flags.map((f) => t(`quality.${f}`));
  if (reading.quality & NO_VALUE) return { state: 'bad', text: words.join(', ') };
  if (now - reading.ts_ms > STALE_MS) return { state: 'stale', text: t('quality.stale') };
  if (flags.length) return { state: 'doubtful', text: words.join(', ') };
  return { state: 'good', text: t('quality.good') };
}
