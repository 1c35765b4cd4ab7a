/**
 * Tempo and key of a piece of audio (for uploads: "a beat that fits my vocal"). Our own code, small
 * and dependency-free (a radix-2 FFT included), measured by `npm run bench:detect`
 * (docs/benchmarks.md, "Detection"). Takes mono samples at any rate; analyses at most the first
 * MAX_SECONDS, decimated (~22 kHz for tempo, ~5.5 kHz for key).
 *
 * Tempo: an onset-strength envelope (log-compressed spectral flux in four bands, each scaled to unit
 * mean, ~172 frames a second). Its Fourier tempogram (over the whole clip) has peaks at the beat and
 * its multiples, its autocorrelation at the beat's period and its multiples: a beat is scored by the
 * tempogram's peak at the beat or its 8th notes times the autocorrelation's peak at its period, under
 * a log-Gaussian prior around 120 bpm (Peeters 2007; Ellis 2007). Music with no clear beat falls back
 * on its bar rate (the strongest slow periodicity) times 2, 3 or 4. The winner is refined on the
 * envelope's first four harmonics.
 * Key: chroma from the spectral peaks (notes) of 1.5 s frames; the scale is the diatonic set the
 * chroma correlates with best, and the tonic (relative major or minor, mostly) is the lowest note of
 * the opening: pieces mostly open on the tonic chord, and a bass line or a chord starts on its root.
 */
import type { MusicalKey } from './keys.js';

const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
/** At most this much audio is analysed (from the start): bounded time and memory for long uploads. */
const MAX_SECONDS = 90;

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

// ---------------------------------------------------------------------------------------------
// Signal helpers

interface FftTables {
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}
const fftTables = new Map<number, FftTables>();

/** Bit-reversal permutation and twiddle factors for an `n`-point FFT, computed once per size. */
function tablesFor(n: number): FftTables {
  let t = fftTables.get(n);
  if (t) return t;
  const bits = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  t = { rev, cos, sin };
  fftTables.set(n, t);
  return t;
}

/** In-place iterative radix-2 FFT (Cooley–Tukey); `re.length` must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const { rev, cos, sin } = tablesFor(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const c = cos[k * step] as number;
        const s = sin[k * step] as number;
        const a = start + k;
        const b = a + half;
        const br = re[b] as number;
        const bi = im[b] as number;
        const tr = br * c + bi * s;
        const ti = bi * c - br * s;
        re[b] = (re[a] as number) - tr;
        im[b] = (im[a] as number) - ti;
        re[a] = (re[a] as number) + tr;
        im[a] = (im[a] as number) + ti;
      }
    }
  }
}

/** Periodic Hann window. */
function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/**
 * Decimation by an integer `factor`: a windowed-sinc (Blackman) low-pass at 90 % of the new Nyquist
 * frequency, evaluated only at the samples kept.
 */
function decimate(x: Float32Array, factor: number): Float32Array {
  if (factor <= 1) return x;
  const half = 4 * factor;
  const cutoff = 0.45 / factor;
  const h = new Float64Array(2 * half + 1);
  let sum = 0;
  for (let j = -half; j <= half; j++) {
    const sinc = j === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * j) / (Math.PI * j);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * j) / half) + 0.08 * Math.cos((2 * Math.PI * j) / half);
    h[j + half] = sinc * w;
    sum += sinc * w;
  }
  for (let j = 0; j < h.length; j++) h[j] = (h[j] as number) / sum;
  const out = new Float32Array(Math.floor(x.length / factor));
  for (let o = 0; o < out.length; o++) {
    const c = o * factor;
    let s = 0;
    const lo = Math.max(-half, -c);
    const hi = Math.min(half, x.length - 1 - c);
    for (let j = lo; j <= hi; j++) s += (h[j + half] as number) * (x[c + j] as number);
    out[o] = s;
  }
  return out;
}

/** The first MAX_SECONDS of `samples`, brought to about `target` Hz by decimation. */
function prepare(samples: Float32Array, sampleRate: number, target: number): { x: Float32Array; rate: number } {
  const head = samples.subarray(0, Math.min(samples.length, Math.round(MAX_SECONDS * sampleRate)));
  const factor = Math.max(1, Math.round(sampleRate / target));
  return { x: decimate(head, factor), rate: sampleRate / factor };
}

/** Root mean square. */
function rmsOf(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, x.length)) || 1e-9;
}

/**
 * Short-time magnitude spectra of `x` (Hann window of `n`, every `hop` samples), handed one frame
 * at a time to `each` (the array is reused: copy what must be kept). Two real frames share one
 * complex FFT (one in the real part, one in the imaginary part, separated by conjugate symmetry).
 */
function stft(x: Float32Array, n: number, hop: number, each: (mag: Float64Array, frame: number) => void): number {
  const win = hann(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const mag = new Float64Array(n / 2 + 1);
  const count = x.length >= n ? Math.floor((x.length - n) / hop) + 1 : 0;
  for (let frame = 0; frame < count; frame += 2) {
    const a = frame * hop;
    const b = a + hop;
    const second = frame + 1 < count;
    for (let i = 0; i < n; i++) {
      re[i] = (x[a + i] as number) * (win[i] as number);
      im[i] = second ? (x[b + i] as number) * (win[i] as number) : 0;
    }
    fft(re, im);
    for (let part = 0; part < (second ? 2 : 1); part++) {
      for (let k = 0; k <= n / 2; k++) {
        const j = (n - k) % n;
        // First frame: (X[k] + conj X[n-k]) / 2; second: (X[k] - conj X[n-k]) / 2i.
        const r = part === 0 ? 0.5 * ((re[k] as number) + (re[j] as number)) : 0.5 * ((im[k] as number) + (im[j] as number));
        const i = part === 0 ? 0.5 * ((im[k] as number) - (im[j] as number)) : 0.5 * ((re[j] as number) - (re[k] as number));
        mag[k] = Math.sqrt(r * r + i * i);
      }
      each(mag, frame + part);
    }
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Tempo

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

// ---------------------------------------------------------------------------------------------
// Key

/** Pitch classes of the major scale and of the natural minor scale, as 0/1 templates (tonic first). */
const DIATONIC = {
  major: [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1],
  minor: [1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0],
} as const;
// Temperley (1999) key profiles: only to break exact ties between relative keys.
const TEMPERLEY = {
  major: [5, 2, 3.5, 2, 4.5, 4, 2, 4.5, 2, 3.5, 1.5, 4],
  minor: [5, 2, 3.5, 4.5, 2, 4, 2, 4.5, 3.5, 2, 1.5, 4],
} as const;

/** MIDI notes counted in the chroma (C2–C6), and the lowest note that counts as a frame's bass. */
const CHROMA_RANGE = [36, 84] as const;
const LOWEST_FROM = 33; // A1: a kick drum's pitched tail sits lower.
/** A frame's lowest note is its lowest peak at least this fraction as strong as its strongest. */
const LOWEST_SHARE = 0.25;
/** Key analysis frames: 8192 points at ~5.5 kHz (1.5 s), every 1024 samples (~0.19 s). */
const KEY_FFT = 8192;
const KEY_HOP = 1024;
/** Frames that make the opening (~1.7 s), whose lowest notes name the tonic (the first counts double). */
const OPENING_FRAMES = 2;
/** Weight of the opening's lowest note against the chroma–scale correlation (-1..1). */
const OPENING_WEIGHT = 0.1;

/** One analysis frame: its chroma (12 pitch classes, C first) and the pitch class of its lowest note. */
export interface ChromaFrame {
  chroma: Float64Array;
  /** -1 when the frame has no note. */
  lowest: number;
}

/**
 * Chroma frames from an STFT at ~5.5 kHz, from the first sound on (leading silence skipped): each
 * note peak adds the square root of its magnitude to its pitch class, and the frame remembers the
 * pitch class of its lowest strong note (the bass, or the root of a chord voiced from its root).
 */
export function chromaFrames(samples: Float32Array, sampleRate: number): ChromaFrame[] {
  const { x, rate } = prepare(samples, sampleRate, 5512);
  const floor = 1e-4 * rmsOf(x) * KEY_FFT;
  const frames: ChromaFrame[] = [];
  stft(x.subarray(firstSound(x)), KEY_FFT, KEY_HOP, (mag) => {
    const peaks = notePeaks(mag, rate, KEY_FFT);
    const chroma = new Float64Array(12);
    let strongest = 0;
    for (const p of peaks) {
      if (p.midi >= CHROMA_RANGE[0] - 0.5 && p.midi < CHROMA_RANGE[1] + 0.5) {
        const pc = Math.round(p.midi) % 12;
        chroma[pc] = (chroma[pc] as number) + Math.sqrt(p.mag / floor);
      }
      if (p.midi >= LOWEST_FROM - 0.5) strongest = Math.max(strongest, p.mag);
    }
    const low = peaks.find((p) => p.midi >= LOWEST_FROM - 0.5 && p.mag >= LOWEST_SHARE * strongest);
    frames.push({ chroma, lowest: low ? Math.round(low.midi) % 12 : -1 });
  });
  return frames;
}

/** Index of the first 1024-sample block louder than 5 % of the clip's RMS (0 if none). */
function firstSound(x: Float32Array): number {
  const threshold = 0.05 * rmsOf(x);
  for (let start = 0; start + 1024 <= x.length; start += 1024)
    if (rmsOf(x.subarray(start, start + 1024)) > threshold) return start;
  return 0;
}

/**
 * The spectral peaks of one frame that may be notes, lowest first: local maxima standing at least
 * twice above the local spectral mean (noise and drums' broadband energy drop out), located by
 * parabolic interpolation, between E1 and B6.
 */
function notePeaks(mag: Float64Array, rate: number, n: number): { midi: number; mag: number }[] {
  const local = movingMean(mag, 24);
  const out: { midi: number; mag: number }[] = [];
  const top = Math.min(n / 2 - 1, Math.ceil((440 * 2 ** ((96 - 69) / 12) * n) / rate));
  for (let k = 2; k <= top; k++) {
    const m = mag[k] as number;
    const l = mag[k - 1] as number;
    const r = mag[k + 1] as number;
    if (m <= l || m < r || m <= 2 * (local[k] as number)) continue;
    const d = (0.5 * (l - r)) / (l - 2 * m + r || -1e-12);
    const midi = 69 + 12 * Math.log2(((k + Math.max(-0.5, Math.min(0.5, d))) * rate) / n / 440);
    if (midi >= 27.5) out.push({ midi, mag: m });
  }
  return out;
}

/** Centred moving average over 2·half+1 bins. */
function movingMean(x: Float64Array, half: number): Float64Array {
  const prefix = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) prefix[i + 1] = (prefix[i] as number) + (x[i] as number);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(x.length, i + half + 1);
    out[i] = ((prefix[b] as number) - (prefix[a] as number)) / (b - a);
  }
  return out;
}

/** Pearson correlation. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= a.length;
  mb /= b.length;
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

/** `profile` rotated so that its tonic is pitch class `pc`. */
function rotate(profile: readonly number[], pc: number): number[] {
  return profile.map((_, i) => profile[(i - pc + 12) % 12] as number);
}

/**
 * Key: the scale is the diatonic set the clip's chroma correlates with best; the tonic among its
 * keys (above all the relative major and minor, which share the scale) is the one the opening's
 * lowest notes name: pieces mostly open on their tonic chord, and a chord's or bass line's lowest
 * note is its root.
 */
export function detectKey(samples: Float32Array, sampleRate: number): { key: MusicalKey; confidence: number } {
  const frames = chromaFrames(samples, sampleRate);
  const total = new Array<number>(12).fill(0);
  for (const f of frames) for (let pc = 0; pc < 12; pc++) total[pc] = (total[pc] as number) + (f.chroma[pc] as number);
  const opening = new Array<number>(12).fill(0);
  frames.slice(0, OPENING_FRAMES).forEach((f, i) => {
    if (f.lowest >= 0) opening[f.lowest] = (opening[f.lowest] as number) + 1 / (1 + i);
  });
  const most = Math.max(1e-9, ...opening);
  let best = { score: Number.NEGATIVE_INFINITY, r: 0, pitchClass: 0, mode: 'major' as MusicalKey['mode'] };
  for (let pc = 0; pc < 12; pc++) {
    for (const mode of ['major', 'minor'] as const) {
      const r = correlation(total, rotate(DIATONIC[mode], pc));
      const tie = 1e-3 * correlation(total, rotate(TEMPERLEY[mode], pc));
      const score = r + (OPENING_WEIGHT * (opening[pc] as number)) / most + tie;
      if (score > best.score) best = { score, r, pitchClass: pc, mode };
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
