/**
 * Lo-fi texture: a record's crackle under the drums, and its wow and flutter on the tonal parts. Both
 * repeat with the loop: the wobble fits a whole number of cycles into it, and the crackle is drawn
 * from the seed, so the seam is as seamless as the rest.
 */
import { type Stereo, SAMPLE_RATE } from './dsp.js';
import { Rng } from './rng.js';

/** Wow (slow) and flutter (fast): rate in Hz and depth in samples of delay (about ±0.12 % and ±0.04 % in pitch). */
const WOW = { hz: 0.5, depth: 17 };
const FLUTTER = { hz: 6, depth: 0.45 };
const BASE_DELAY = 24;

/**
 * Wow and flutter in place: the signal read through a delay that wobbles. `loop` is the loop's
 * length in samples; each wobble makes a whole number of cycles in it. The delay never falls below
 * a few samples, so the signal is rewritten from its end backwards, each sample from ones not yet
 * rewritten.
 */
export function wowAndFlutter(s: Stereo, loop: number): void {
  const delay = wobble(s.left.length, loop);
  const { left, right } = s;
  // Both channels in one pass: where to read is worked out once for the two.
  for (let i = left.length - 1; i >= 0; i--) {
    const at = i - (delay[i] as number);
    const j = Math.floor(at);
    const f = at - j;
    const al = j >= 0 ? (left[j] as number) : 0;
    const bl = j + 1 >= 0 ? (left[j + 1] as number) : 0;
    const ar = j >= 0 ? (right[j] as number) : 0;
    const br = j + 1 >= 0 ? (right[j + 1] as number) : 0;
    left[i] = al + (bl - al) * f;
    right[i] = ar + (br - ar) * f;
  }
}

/**
 * The delay, samples, at each of `length` samples: two sines stepped by rotation (no Math.sin per
 * sample). Each rotor's state is in locals, not objects: the loop runs once a sample (about 7 % of a
 * lo-fi beat's engine time with the state in objects, about 4 % so; the same arithmetic, so the same bytes).
 */
function wobble(length: number, loop: number): Float32Array {
  const out = new Float32Array(length);
  const step = (hz: number) => (2 * Math.PI * Math.max(1, Math.round((hz * loop) / SAMPLE_RATE))) / loop;
  const [wowCos, wowSin] = [Math.cos(step(WOW.hz)), Math.sin(step(WOW.hz))];
  const [flutterCos, flutterSin] = [Math.cos(step(FLUTTER.hz)), Math.sin(step(FLUTTER.hz))];
  let wowS = 0;
  let wowC = 1;
  let flutterS = 0;
  let flutterC = 1;
  for (let i = 0; i < length; i++) {
    let d = BASE_DELAY;
    d += WOW.depth * wowS;
    const ws = wowS * wowCos + wowC * wowSin;
    wowC = wowC * wowCos - wowS * wowSin;
    wowS = ws;
    d += FLUTTER.depth * flutterS;
    const fs = flutterS * flutterCos + flutterC * flutterSin;
    flutterC = flutterC * flutterCos - flutterS * flutterSin;
    flutterS = fs;
    out[i] = d;
  }
  return out;
}

/** Crackles a second, and each one's length. */
const CRACKLE_RATE = 7;
const CRACKLE_SAMPLES = 48;

/**
 * Crackle added in place over the first `loop` samples: short, smoothed noise bursts at seeded
 * times and levels (−44 … −30 dBFS before the part's level), each under a raised-cosine window so
 * that none starts or stops with a step; some lean left, some right.
 */
export function crackleInto(s: Stereo, loop: number, seed: number): void {
  const rng = new Rng(seed ^ 0xc7ac);
  const count = Math.round((CRACKLE_RATE * loop) / SAMPLE_RATE);
  for (let c = 0; c < count; c++) {
    const start = rng.int(0, loop - CRACKLE_SAMPLES - 1);
    const level = 0.006 + 0.025 * rng.next() ** 2;
    const pan = rng.next();
    let lp = 0;
    for (let k = 0; k < CRACKLE_SAMPLES; k++) {
      lp += 0.45 * (2 * rng.next() - 1 - lp);
      const w = 0.5 * (1 - Math.cos((2 * Math.PI * (k + 1)) / (CRACKLE_SAMPLES + 1)));
      const v = lp * w * level;
      const i = start + k;
      s.left[i] = (s.left[i] as number) + v * (1 - 0.5 * pan);
      s.right[i] = (s.right[i] as number) + v * (0.5 + 0.5 * pan);
    }
  }
}
