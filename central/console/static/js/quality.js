// A reading's quality flags (protocols/quality.py) as a person reads them: bad (no usable value),
// doubtful (a value, with a warning), or stale (nothing new for STALE_MS).
import { t } from './i18n.js';

const FLAGS = ['comm_error', 'device_exception', 'out_of_range', 'flatline', 'sensor_fault', 'clock_unsync',
  'bad_frame', 'degraded']; // bit 0 upwards
const NO_VALUE = 0b1010011; // comm_error | device_exception | sensor_fault | bad_frame
export const STALE_MS = 15 * 60_000;

export function assess(reading, now = Date.now()) {
  const flags = FLAGS.filter((_, bit) => reading.quality & (1 << bit));
  const words = flags.map((f) => t(`quality.${f}`));
  if (reading.quality & NO_VALUE) return { state: 'bad', text: words.join(', ') };
  if (now - reading.ts_ms > STALE_MS) return { state: 'stale', text: t('quality.stale') };
  if (flags.length) return { state: 'doubtful', text: words.join(', ') };
  return { state: 'good', text: t('quality.good') };
}
