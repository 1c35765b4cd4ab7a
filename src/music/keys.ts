/**
 * Musical keys: parses what people type ("A minor", "Am", "F#m", "Bb major",
 * "c sharp minor", "E♭") into a canonical { tonic, mode } and a display name
 * ("A minor"). Shared by the API's validation, the intent parser and the composer.
 */

export type Mode = 'major' | 'minor';
export interface MusicalKey {
  /** Pitch class 0..11, C = 0. */
  pitchClass: number;
  /** Spelling used for display, e.g. "F#", "Bb". */
  tonic: string;
  mode: Mode;
}

const LETTERS: Record<string, number> = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 };

const KEY_PATTERN = /^([a-g])\s*(#|♯|sharp|b|♭|flat)?\s*(maj(?:or)?|min(?:or)?|m|major|minor|ionian|aeolian)?$/i;

/** Parses a key name; null when it is not one. A bare tonic means major. */
export function parseKey(input: string): MusicalKey | null {
  const text = input.trim().replace(/\s+/g, ' ').replace(/-/g, ' ');
  const match = KEY_PATTERN.exec(text);
  if (!match) return null;
  const [, letterRaw, accidentalRaw, modeRaw] = match;
  const letter = (letterRaw ?? '').toLowerCase();
  const accidental = (accidentalRaw ?? '').toLowerCase();
  const base = LETTERS[letter];
  if (base === undefined) return null;
  const shift = ['#', '♯', 'sharp'].includes(accidental) ? 1 : ['b', '♭', 'flat'].includes(accidental) ? -1 : 0;
  // "m" is minor only in lower case after a tonic ("Am"); "M" alone would be major in
  // some notations, but nobody types that in chat, so any m/min/minor is minor.
  const modeText = (modeRaw ?? '').toLowerCase();
  const mode: Mode = modeText === '' || modeText.startsWith('maj') || modeText === 'ionian' ? 'major' : 'minor';
  const tonic = letter.toUpperCase() + (shift > 0 ? '#' : shift < 0 ? 'b' : '');
  return { pitchClass: (base + shift + 12) % 12, tonic, mode };
}

/** "A minor", "F# major". */
export function keyName(key: MusicalKey): string {
  return `${key.tonic} ${key.mode}`;
}

/** Canonical display name of a key string, or null when it cannot be parsed. */
export function normalizeKey(input: string): string | null {
  const key = parseKey(input);
  return key ? keyName(key) : null;
}
