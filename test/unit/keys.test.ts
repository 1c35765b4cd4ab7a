import { describe, expect, it } from 'vitest';
import { normalizeKey, parseKey } from '../../src/music/keys.js';

describe('parseKey', () => {
  it.each([
    ['A minor', 'A minor', 9],
    ['Am', 'A minor', 9],
    ['a min', 'A minor', 9],
    ['F#m', 'F# minor', 6],
    ['F# major', 'F# major', 6],
    ['Bb minor', 'Bb minor', 10],
    ['bbm', 'Bb minor', 10],
    ['E♭ major', 'Eb major', 3],
    ['c sharp minor', 'C# minor', 1],
    ['D flat', 'Db major', 1],
    ['C', 'C major', 0],
    ['g-minor', 'G minor', 7],
  ])('%j → %s', (input, name, pitchClass) => {
    expect(normalizeKey(input)).toBe(name);
    expect(parseKey(input)?.pitchClass).toBe(pitchClass);
  });

  it.each(['H minor', '', 'minor', 'A#b', 'A dorian flat', '90 bpm'])('rejects %j', (input) => {
    expect(parseKey(input)).toBeNull();
  });
});
