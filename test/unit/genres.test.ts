import { describe, expect, it } from 'vitest';
import { normalizeGenre } from '../../src/music/genres.js';

describe('normalizeGenre', () => {
  it('knows the spellings it lists', () => {
    expect(normalizeGenre('Lo-Fi')).toBe('lofi');
    expect(normalizeGenre('  deep   house ')).toBe('house');
  });

  it("refuses names of Object.prototype's members (a BEAT was written for genre __proto__)", () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])
      expect(normalizeGenre(name)).toBeNull();
  });
});
