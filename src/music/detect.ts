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
 *
 * The code lives in src/music/analysis/: signal.ts (FFT, STFT, decimation), tempo.ts and key.ts.
 */
import { detectKey } from './analysis/key.js';
import { detectTempo } from './analysis/tempo.js';
import type { MusicalKey } from './keys.js';

export { type ChromaFrame, chromaFrames, detectKey } from './analysis/key.js';
export { fft, mono } from './analysis/signal.js';
export { detectTempo, onsetEnvelope, type TempoEvidence, tempoEvidence } from './analysis/tempo.js';

export interface Detected {
  bpm: number;
  key: MusicalKey;
  /** Correlation of the chroma with the chosen key's profile, -1..1. */
  keyConfidence: number;
}

/** Tempo and key of mono `samples`. */
export function detect(samples: Float32Array, sampleRate: number): Detected {
  const { key, confidence } = detectKey(samples, sampleRate);
  return { bpm: detectTempo(samples, sampleRate), key, keyConfidence: confidence };
}
