/**
 * Tempo detection (src/music/detect.ts): the onset-strength envelope, its Fourier tempogram and
 * autocorrelation on a tempo grid (tempoEvidence), the beat scoring and detectTempo.
 */
import { prepare, rmsOf, stft } from './signal.js';

/** Onset envelope frame rate (frames a second). */
const ONSET_RATE = 172;
/** Band edges (Hz) of the onset envelope: kick, snare/body, presence, hats. */
const ONSET_BANDS = [0, 150, 800, 4000, Number.POSITIVE_INFINITY];

/**
 * Onset-strength envelope: per band, the summed half-wave rectified rise of the log-compressed
 * magnitude spectrum (spectral flux); each band's flux has its moving average (~0.25 s) removed,
 * is rectified again and scaled to unit mean, and the bands are summed so that a quiet hi-hat
 * counts as much as a loud kick.
 */
export function onsetEnvelope(
  samples: Float32Array,
  sampleRate: number,
): { envelope: Float64Array; bands: Float64Array[]; rate: number } {
  const { x, rate } = prepare(samples, sampleRate, 22050);
  const n = 1024;
  const hop = Math.max(1, Math.round(rate / ONSET_RATE));
  const frameRate = rate / hop;
  const floor = 1e-3 * rmsOf(x) * n;
  const bandOf = new Int32Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    const f = (k * rate) / n;
    bandOf[k] = ONSET_BANDS.findIndex((edge, i) => f >= edge && f < (ONSET_BANDS[i + 1] as number));
  }
  const bandCount = ONSET_BANDS.length - 1;
  const frames = Math.max(0, Math.floor((x.length - n) / hop) + 1);
  const flux = Array.from({ length: bandCount }, () => new Float64Array(frames));
  const prev = new Float64Array(n / 2 + 1);
  stft(x, n, hop, (mag, t) => {
    for (let k = 1; k <= n / 2; k++) {
      const l = Math.log1p((mag[k] as number) / floor);
      if (t > 0) {
        const rise = l - (prev[k] as number);
        if (rise > 0) {
          const b = flux[bandOf[k] as number] as Float64Array;
          b[t] = (b[t] as number) + rise;
        }
      }
      prev[k] = l;
    }
  });
  const envelope = new Float64Array(frames);
  const win = Math.max(1, Math.round(frameRate * 0.25));
  const bands = flux.map((band) => {
    const hp = highPass(band, win);
    let mean = 0;
    for (const v of hp) mean += v;
    mean /= Math.max(1, hp.length);
    if (mean > 0) for (let t = 0; t < frames; t++) hp[t] = (hp[t] as number) / mean;
    for (let t = 0; t < frames; t++) envelope[t] = (envelope[t] as number) + (hp[t] as number);
    return hp;
  });
  return { envelope, bands, rate: frameRate };
}

/** `x` minus its centred moving average over `win` frames, half-wave rectified. */
function highPass(x: Float64Array, win: number): Float64Array {
  const prefix = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) prefix[i + 1] = (prefix[i] as number) + (x[i] as number);
  const out = new Float64Array(x.length);
  const h = Math.floor(win / 2);
  for (let i = 0; i < x.length; i++) {
    const a = Math.max(0, i - h);
    const b = Math.min(x.length, i + h + 1);
    out[i] = Math.max(0, (x[i] as number) - ((prefix[b] as number) - (prefix[a] as number)) / (b - a));
  }
  return out;
}

/** Magnitude of the envelope's Fourier component at `bpm` (a Fourier tempogram over the whole clip). */
function fourierAt(env: Float64Array, rate: number, bpm: number): number {
  const w = (2 * Math.PI * bpm) / 60 / rate;
  // Goertzel recurrence: one multiply-add per frame.
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < env.length; i++) {
    const s0 = (env[i] as number) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2)) / env.length;
}

/** Normalized autocorrelation of the (mean-removed) envelope for lags 0..maxLag. */
function autocorrelation(env: Float64Array, maxLag: number): Float64Array {
  let mean = 0;
  for (const v of env) mean += v;
  mean /= Math.max(1, env.length);
  const x = env.map((v) => v - mean);
  const out = new Float64Array(maxLag + 1);
  for (let lag = 0; lag <= maxLag && lag < x.length; lag++) {
    let s = 0;
    for (let i = lag; i < x.length; i++) s += (x[i] as number) * (x[i - lag] as number);
    out[lag] = s / (x.length - lag);
  }
  const zero = out[0] || 1;
  for (let lag = 0; lag <= maxLag; lag++) out[lag] = (out[lag] as number) / zero;
  return out;
}

/** Linear interpolation into `a` at fractional index `i` (0 outside). */
function lerp(a: Float64Array, i: number): number {
  const j = Math.floor(i);
  if (j < 0 || j + 1 >= a.length) return 0;
  const t = i - j;
  return (a[j] as number) * (1 - t) + (a[j + 1] as number) * t;
}

/** Log-Gaussian tempo preference around 120 bpm, an octave wide (Moelants & McKinney; Ellis 2007). */
function tempoPrior(bpm: number): number {
  return Math.exp(-0.5 * Math.log2(bpm / 120) ** 2);
}

/** Grid of the tempo functions below (bpm): up to the 8th notes of the fastest beat looked for, and a margin. */
const GRID = { from: 8, to: 500, step: 0.25 };
/** The range a beat is looked for in, and the range of a bar (measure) rate. */
const BEAT_RANGE = [50, 220] as const;
const BAR_RANGE = [12, 48] as const;

/** Fourier tempogram and autocorrelation of an onset envelope, both as functions of tempo (bpm). */
export interface TempoEvidence {
  /** Magnitude of the envelope's Fourier component at each grid tempo. */
  fourier: Float64Array;
  /** Envelope autocorrelation at the lag of each grid tempo's period (normalized, 1 at lag 0). */
  acf: Float64Array;
}

/** The onset envelope's Fourier tempogram (one clip-long frame) and autocorrelation on GRID. */
export function tempoEvidence(samples: Float32Array, sampleRate: number): TempoEvidence {
  const { envelope, rate } = onsetEnvelope(samples, sampleRate);
  return evidenceOf(envelope, rate);
}

/** Tempogram and autocorrelation of `envelope` (frames at `rate` a second) on GRID. */
function evidenceOf(envelope: Float64Array, rate: number): TempoEvidence {
  const lags = autocorrelation(envelope, Math.min(envelope.length - 1, Math.ceil((60 * rate) / GRID.from)));
  const size = Math.round((GRID.to - GRID.from) / GRID.step) + 1;
  const fourier = new Float64Array(size);
  const acf = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const bpm = GRID.from + i * GRID.step;
    fourier[i] = fourierAt(envelope, rate, bpm);
    acf[i] = lerp(lags, (60 * rate) / bpm);
  }
  return { fourier, acf };
}

/** Value of a grid function at `bpm` (linear interpolation). */
function onGrid(a: Float64Array, bpm: number): number {
  return lerp(a, (bpm - GRID.from) / GRID.step);
}

/**
 * How much `a` peaks at `bpm`: its value minus the mean of its values `width` times faster and
 * slower (clamped at 0). Removes the broad floor under the tempogram and the short-lag bulge of the
 * autocorrelation, which are not periodicities.
 */
function peakness(a: Float64Array, bpm: number, width: number): number {
  return Math.max(0, onGrid(a, bpm) - 0.5 * (onGrid(a, bpm * width) + onGrid(a, bpm / width)));
}

/**
 * Salience of a beat at `bpm` (Peeters 2007: the Fourier tempogram has ghosts at multiples of the
 * true tempo, the autocorrelation at submultiples, so their product keeps the tempo): the tempogram
 * peak at the beat or at its 8th-note subdivision, times the autocorrelation peak at the beat's period.
 */
function beatSalience(ev: TempoEvidence, bpm: number): number {
  const f = peakness(ev.fourier, bpm, 1.1) + peakness(ev.fourier, 2 * bpm, 1.1);
  return f * peakness(ev.acf, bpm, 1.15) * tempoPrior(bpm);
}

/** The strongest peak of `score` over [lo, hi] on the grid: its tempo and value. */
function argmax(lo: number, hi: number, score: (bpm: number) => number): { bpm: number; score: number } {
  let best = { bpm: lo, score: Number.NEGATIVE_INFINITY };
  for (let bpm = lo; bpm <= hi; bpm += GRID.step) {
    const s = score(bpm);
    if (s > best.score) best = { bpm, score: s };
  }
  return best;
}

/**
 * Music with no clear beat (pads, drones, a bell per bar) still has a bar: when the tempogram's
 * strongest periodicity in the bar range outweighs any in the beat range, the beat is that bar
 * divided into 2, 3 or 4 (whichever the tempogram and the prior favour). Null when there is a beat.
 */
function beatFromBar(ev: TempoEvidence): number | null {
  const bar = argmax(BAR_RANGE[0], BAR_RANGE[1], (b) => peakness(ev.fourier, b, 1.1));
  const beat = argmax(BEAT_RANGE[0], BEAT_RANGE[1], (b) => peakness(ev.fourier, b, 1.1));
  if (bar.score <= beat.score) return null;
  let best = { bpm: 0, score: Number.NEGATIVE_INFINITY };
  for (const beats of [2, 3, 4]) {
    const bpm = bar.bpm * beats;
    if (bpm < BEAT_RANGE[0] || bpm > BEAT_RANGE[1]) continue;
    const s = (peakness(ev.fourier, bpm, 1.1) + peakness(ev.fourier, 2 * bpm, 1.1)) * tempoPrior(bpm);
    if (s > best.score) best = { bpm, score: s };
  }
  return best.bpm || null;
}

/** Refines `bpm` within ±2 % to the peak of the envelope's first four harmonics. */
function refine(envelope: Float64Array, rate: number, bpm: number): number {
  let best = { score: Number.NEGATIVE_INFINITY, bpm };
  for (let b = bpm * 0.98; b <= bpm * 1.02; b += 0.02) {
    let score = 0;
    for (let k = 1; k <= 4; k++) score += fourierAt(envelope, rate, b * k);
    if (score > best.score) best = { score, bpm: b };
  }
  return best.bpm;
}

/**
 * Tempo in bpm (fractional, 50–220) of mono `samples` at any `sampleRate`: the best-scoring beat
 * (or the bar-rate fallback for music without a beat), refined on the envelope's harmonics.
 */
export function detectTempo(samples: Float32Array, sampleRate: number): number {
  const { envelope, rate } = onsetEnvelope(samples, sampleRate);
  const ev = evidenceOf(envelope, rate);
  const bpm = beatFromBar(ev) ?? argmax(BEAT_RANGE[0], BEAT_RANGE[1], (b) => beatSalience(ev, b)).bpm;
  return refine(envelope, rate, bpm);
}
