/**
 * Tempo and key of a piece of audio (for uploads: "a beat that fits my vocal"). Our own code, small
 * and dependency-free, measured by `npm run bench:detect` on clips the engine rendered (the request
 * is the ground truth). A first version, not used by the api yet: it is below the floors
 * (docs/benchmarks.md, "Detection"), mostly on fast half-time genres (trap, dnb), sparse ambient, and
 * relative major/minor keys.
 *
 * Tempo: an onset-strength envelope (half-wave rectified rise of log energy in three bands, 344
 * frames a second), its autocorrelation over 55–215 bpm weighted by a broad prior around 115 bpm,
 * and the peak refined by parabolic interpolation; its half and double are weighed too.
 * Key: a chroma vector (Goertzel energy of every semitone from C2 to B6 over ~93 ms frames, folded
 * into 12 pitch classes), correlated with the 24 rotations of the Krumhansl–Kessler major and minor
 * profiles.
 */
import type { MusicalKey } from './keys.js';

const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
// Krumhansl & Kessler (1982) probe-tone profiles.
const MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

export interface Detected {
  bpm: number;
  key: MusicalKey;
  /** Correlation of the chroma with the chosen key's profile, -1..1. */
  keyConfidence: number;
}

/** Mono, averaged from any number of channels. */
export function mono(channels: Float32Array[]): Float32Array {
  const n = channels[0]?.length ?? 0;
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (c[i] as number) / channels.length;
  return out;
}

/** A one-pole-pair biquad band split is enough for onsets: low (< 200 Hz), mid, high (> 2 kHz). */
function onePole(x: Float32Array, cutoff: number, sampleRate: number): Float32Array {
  const a = Math.exp((-2 * Math.PI * cutoff) / sampleRate);
  const y = new Float32Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    s = (1 - a) * (x[i] as number) + a * s;
    y[i] = s;
  }
  return y;
}

export function detectTempo(samples: Float32Array, sampleRate: number): number {
  const hop = Math.max(1, Math.round(sampleRate / 344));
  const frameRate = sampleRate / hop;
  const low = onePole(onePole(samples, 200, sampleRate), 200, sampleRate);
  const lowMid = onePole(samples, 2000, sampleRate);
  const frames = Math.floor(samples.length / hop);
  const bands = [new Float64Array(frames), new Float64Array(frames), new Float64Array(frames)];
  for (let f = 0; f < frames; f++) {
    let eLow = 0;
    let eMid = 0;
    let eHigh = 0;
    for (let i = f * hop; i < (f + 1) * hop; i++) {
      const l = low[i] as number;
      const m = (lowMid[i] as number) - l;
      const h = (samples[i] as number) - (lowMid[i] as number);
      eLow += l * l;
      eMid += m * m;
      eHigh += h * h;
    }
    (bands[0] as Float64Array)[f] = Math.log(1e-9 + eLow);
    (bands[1] as Float64Array)[f] = Math.log(1e-9 + eMid);
    (bands[2] as Float64Array)[f] = Math.log(1e-9 + eHigh);
  }
  // Onset strength: summed rectified rises, minus a moving average (removes slow swells).
  const onset = new Float64Array(frames);
  for (let f = 1; f < frames; f++)
    for (const b of bands) onset[f] = (onset[f] as number) + Math.max(0, (b[f] as number) - (b[f - 1] as number));
  const win = Math.round(frameRate * 0.5);
  const flat = new Float64Array(frames);
  let sum = 0;
  for (let f = 0; f < frames; f++) {
    sum += onset[f] as number;
    if (f >= win) sum -= onset[f - win] as number;
    flat[f] = Math.max(0, (onset[f] as number) - sum / Math.min(f + 1, win));
  }
  const acf = (lag: number) => {
    let s = 0;
    for (let f = lag; f < frames; f++) s += (flat[f] as number) * (flat[f - lag] as number);
    return s / (frames - lag);
  };
  const lagOf = (bpm: number) => (60 * frameRate) / bpm;
  const minLag = Math.floor(lagOf(215));
  const maxLag = Math.ceil(lagOf(55));
  const values = new Float64Array(maxLag + 2);
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) values[lag] = acf(lag);
  // A beat's period also shows at twice and four times its lag (bars): score each lag with them.
  const at = (lag: number) => {
    const i = Math.floor(lag);
    const t = lag - i;
    if (i + 1 >= values.length) return acf(Math.round(lag));
    return (values[i] as number) * (1 - t) + (values[i + 1] as number) * t;
  };
  let best = { score: Number.NEGATIVE_INFINITY, lag: minLag };
  for (let lag = minLag; lag <= maxLag; lag++) {
    const bpm = (60 * frameRate) / lag;
    // Log-normal prior around 115 bpm, about an octave wide.
    const prior = Math.exp(-0.5 * (Math.log2(bpm / 115) / 1.2) ** 2);
    let score = 0;
    for (let k = 1; k <= 4; k++) score += (k * lag <= maxLag ? (values[k * lag] as number) : at(k * lag)) / k;
    score *= prior;
    if (score > best.score) best = { score, lag };
  }
  // Parabolic refinement of the chosen peak.
  const y0 = values[best.lag - 1] as number;
  const y1 = values[best.lag] as number;
  const y2 = values[best.lag + 1] as number;
  const denom = y0 - 2 * y1 + y2;
  const shift = denom < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (y0 - y2)) / denom)) : 0;
  return (60 * frameRate) / (best.lag + shift);
}

/** Energy of frequency `freq` in `x` (Goertzel). */
function goertzel(x: Float32Array, start: number, length: number, freq: number, sampleRate: number): number {
  const w = (2 * Math.PI * freq) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + length; i++) {
    const s0 = (x[i] as number) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

export function chroma(samples: Float32Array, sampleRate: number): number[] {
  // Down to ~11 kHz (B6 is 1976 Hz): average groups of `step` samples after a low-pass.
  const step = Math.max(1, Math.floor(sampleRate / 11025));
  const filtered = onePole(onePole(samples, 4000, sampleRate), 4000, sampleRate);
  const rate = sampleRate / step;
  const x = new Float32Array(Math.floor(filtered.length / step));
  for (let i = 0; i < x.length; i++) x[i] = filtered[i * step] as number;
  const frame = Math.round(rate * 0.186);
  const out = new Array<number>(12).fill(0);
  const LOW = 40; // E2: below it, kicks and sub-bass sweeps smear every pitch class
  const HIGH = 96;
  for (let start = 0; start + frame <= x.length; start += frame) {
    const energies: number[] = [];
    for (let midi = LOW; midi < HIGH; midi++) energies.push(goertzel(x, start, frame, 440 * 2 ** ((midi - 69) / 12), rate));
    // Each frame counts by its share of each pitch (loud frames do not drown the rest), compressed.
    const total = energies.reduce((a, b) => a + b, 0) || 1;
    energies.forEach((e, i) => {
      const pc = (LOW + i) % 12;
      out[pc] = (out[pc] as number) + Math.sqrt(e / total);
    });
  }
  return out;
}

function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - ma) * ((b[i] as number) - mb);
    da += ((a[i] as number) - ma) ** 2;
    db += ((b[i] as number) - mb) ** 2;
  }
  return da && db ? num / Math.sqrt(da * db) : 0;
}

export function detectKey(samples: Float32Array, sampleRate: number): { key: MusicalKey; confidence: number } {
  const c = chroma(samples, sampleRate);
  let best = { r: Number.NEGATIVE_INFINITY, pitchClass: 0, mode: 'major' as MusicalKey['mode'] };
  for (let pc = 0; pc < 12; pc++) {
    for (const [mode, profile] of [
      ['major', MAJOR],
      ['minor', MINOR],
    ] as const) {
      const rotated = profile.map((_, i) => profile[(i - pc + 12) % 12] as number);
      const r = correlation(c, rotated);
      if (r > best.r) best = { r, pitchClass: pc, mode };
    }
  }
  return {
    key: { pitchClass: best.pitchClass, tonic: NAMES[best.pitchClass] as string, mode: best.mode },
    confidence: best.r,
  };
}

/** Tempo and key of mono `samples`. */
export function detect(samples: Float32Array, sampleRate: number): Detected {
  const { key, confidence } = detectKey(samples, sampleRate);
  return { bpm: detectTempo(samples, sampleRate), key, keyConfidence: confidence };
}
