// The announcement of a new orange or red alarm: a short tone (made here, no audio file), which the
// officer can mute; the choice is kept in this browser. Browsers allow sound only after a click or a
// key press on the page, so unlock() is called on the first one.

const MUTED = 'fieldwatch.muted';
let context = null;

export function muted() {
  return localStorage.getItem(MUTED) === '1';
}

export function setMuted(value) {
  localStorage.setItem(MUTED, value ? '1' : '0');
}

export function unlock() {
  context ??= new AudioContext();
  if (context.state === 'suspended') context.resume();
}

// Red: three high tones; orange: two lower ones.
export function chime(level) {
  if (muted() || !context || context.state !== 'running') return;
  const [count, hz] = level >= 4 ? [3, 880] : [2, 660];
  const start = context.currentTime + 0.02;
  for (let i = 0; i < count; i++) {
    const at = start + i * 0.28;
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
    tone.connect(gain).connect(context.destination);
    tone.start(at);
    tone.stop(at + 0.22);
  }
}
