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

/** Scale degree (0-based) of the dominant: V. */
export const DOMINANT = 4;
/** Scale degree (0-based) of the leading tone, raised a semitone over the dominant in minor. */
const SEVENTH = 6;

const mod7 = (degree: number) => ((degree % 7) + 7) % 7;

/**
 * Harmonic minor's dominant: in a minor key the chord on V is major, its third the raised 7th (the
 * leading tone, G# in A minor), which is what makes minor read as minor rather than as its relative
 * major. True when the chord on `chordRoot` is that chord.
 */
function isMinorDominant(key: MusicalKey, chordRoot: number): boolean {
  return key.mode === 'minor' && mod7(chordRoot) === DOMINANT;
}

/**
 * MIDI note of scale degree `degree` heard over the chord on `chordRoot`: `degreeToMidi`, except that
 * over the dominant of a minor key the 7th degree is the raised leading tone (harmonic minor).
 */
export function degreeOverChord(key: MusicalKey, chordRoot: number, degree: number, octave: number): number {
  const midi = degreeToMidi(key, degree, octave);
  return isMinorDominant(key, chordRoot) && mod7(degree) === SEVENTH ? midi + 1 : midi;
}

/** Chord on scale degree `root`: stacked thirds inside the scale (3 = triad, 4 = seventh). */
export function chordDegrees(root: number, size: 3 | 4): number[] {
  return Array.from({ length: size }, (_, i) => root + 2 * i);
}

export function midiToFrequency(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}
