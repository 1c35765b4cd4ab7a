/**
 * The chord of every bar: the mood's progression laid over the sections so that the key asked for
 * is the key heard, minor as minor (issue 15, genre idiom; measured by test/unit/key-idiom.test.ts).
 */
import type { MusicalKey } from '../../src/music/keys.js';
import { DOMINANT } from '../../src/music/theory.js';
import type { Section } from './arrangement.js';

const TONIC = 0;

/**
 * Chord roots (scale degrees), one per bar, each chord of `base` held `barsPerChord` bars.
 * - Each section starts the progression from its first chord, so every section opens on it.
 * - The intro states the tonic and turns on the dominant into the first main bar (a one-bar intro
 *   is the tonic alone); the outro rests on the tonic.
 * - In minor, a pass of the progression that ends on neither i nor V ends on V instead: major there
 *   (harmonic minor, its third the raised leading tone, theory.ts `degreeOverChord`), leading back
 *   to i. Without it, i–VI–III–VII and its kin read as the relative major.
 */
export function chordsOfBars(
  base: readonly number[],
  sections: readonly Section[],
  barsPerChord: number,
  key: MusicalKey,
): number[] {
  const pass = base.length * barsPerChord;
  const last = base[base.length - 1] as number;
  const halfCadence = key.mode === 'minor' && last !== TONIC && last !== DOMINANT;
  return sections.flatMap((section) =>
    Array.from({ length: section.bars }, (_, bar) => {
      if (section.name === 'intro') return bar === section.bars - 1 && bar > 0 ? DOMINANT : TONIC;
      if (section.name === 'outro') return TONIC;
      if (halfCadence && bar % pass >= pass - barsPerChord) return DOMINANT;
      return base[Math.floor(bar / barsPerChord) % base.length] as number;
    }),
  );
}
