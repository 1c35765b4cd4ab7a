/**
 * Key detection (src/music/detect.ts): chroma frames from spectral note peaks, the diatonic and
 * Temperley key profiles, the tonic from the opening's lowest notes, and detectKey.
 */
import type { MusicalKey } from '../keys.js';
import { prepare, rmsOf, stft } from './signal.js';

const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

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
