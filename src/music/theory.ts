/** Scales, chords and pitch helpers (MIDI note numbers, A4 = 69 = 440 Hz). */
import type { MusicalKey } from './keys.js';

export const MAJOR = [0, 2, 4, 5, 7, 9, 11];
export const NATURAL_MINOR = [0, 2, 3, 5, 7, 8, 10];

export function scaleOf(key: MusicalKey): number[] {
  return key.mode === 'major' ? MAJOR : NATURAL_MINOR;
}

/** Pitch classes (0..11) of the key's scale. */
export function scalePitchClasses(key: MusicalKey): Set<number> {
  return new Set(scaleOf(key).map((i) => (i + key.pitchClass) % 12));
}

/** MIDI note of scale degree `degree` (0-based, may exceed 6 or be negative) above the tonic at `octave`. */
export function degreeToMidi(key: MusicalKey, degree: number, octave: number): number {
  const scale = scaleOf(key);
  const oct = Math.floor(degree / 7);
  const idx = ((degree % 7) + 7) % 7;
  return 12 * (octave + 1 + oct) + key.pitchClass + (scale[idx] as number);
}

/** Chord on scale degree `root`: stacked thirds inside the scale (3 = triad, 4 = seventh). */
export function chordDegrees(root: number, size: 3 | 4): number[] {
  return Array.from({ length: size }, (_, i) => root + 2 * i);
}

export function midiToFrequency(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}
