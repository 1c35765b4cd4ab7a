/**
 * Minor reads as minor (issue 15, genre idiom): the key the Krumhansl–Schmuckler algorithm finds in
 * an arrangement's pitched notes (bass, chords and lead, weighted by duration; drums left out) is
 * the key asked for, mode included, in at least 90 % of arrangements, in each mode. The estimator
 * (test/helpers/key-estimate.ts) shares no code with the engine.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BPM, GENRES, type Genre, MOODS } from '../../src/music/genres.js';
import { type MusicalKey, parseKey } from '../../src/music/keys.js';
import { compose } from '../../worker/engine/composer.js';
import { estimateKey, pitchClassProfile } from '../helpers/key-estimate.js';

const TONICS = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const SEEDS_PER_KEY = 3;

const key = (k: string): MusicalKey => {
  const parsed = parseKey(k);
  if (!parsed) throw new Error(k);
  return parsed;
};

describe('Krumhansl–Schmuckler estimator (the test helper itself)', () => {
  it('finds textbook keys: C major, A minor with its raised leading tone, F# minor', () => {
    const notes = (midis: number[], duration = 1) => midis.map((midi) => ({ midi, duration }));
    // I–IV–V–I in C.
    expect(estimateKey(notes([60, 64, 67, 65, 69, 72, 67, 71, 74, 60, 64, 67]))).toMatchObject({ pitchClass: 0, mode: 'major' });
    // i–iv–V–i in A minor (G#).
    expect(estimateKey(notes([57, 60, 64, 62, 65, 69, 64, 68, 71, 57, 60, 64]))).toMatchObject({ pitchClass: 9, mode: 'minor' });
    // i–V–i in F# minor (E#).
    expect(estimateKey(notes([54, 57, 61, 61, 65, 68, 54, 57, 61]))).toMatchObject({ pitchClass: 6, mode: 'minor' });
    expect(
      pitchClassProfile([
        { midi: 61, duration: 2 },
        { midi: 73, duration: 1 },
      ])[1],
    ).toBe(3);
  });
});

describe('key idiom', () => {
  it('an arrangement reads in the key asked for, mode included, in ≥ 90 % of cases in each mode', () => {
    const tally = new Map<string, { hits: number; total: number }>();
    const count = (label: string, hit: boolean) => {
      const t = tally.get(label) ?? { hits: 0, total: 0 };
      t.hits += hit ? 1 : 0;
      t.total++;
      tally.set(label, t);
    };
    const misses: string[] = [];
    let i = 0;
    for (const genre of GENRES as readonly Genre[])
      for (const mode of ['major', 'minor'] as const)
        for (const tonic of TONICS)
          for (let s = 0; s < SEEDS_PER_KEY; s++) {
            const mood = MOODS[i % MOODS.length] as string;
            const seed = 1000 + i++;
            const asked = key(`${tonic} ${mode}`);
            const a = compose({ genre, bpm: DEFAULT_BPM[genre], key: asked, mood, durationSec: 30, seed });
            const found = estimateKey([...a.bass, ...a.chords, ...a.lead]);
            const hit = found.pitchClass === asked.pitchClass && found.mode === asked.mode;
            if (!hit) misses.push(`${genre} ${tonic} ${mode} ${mood} #${seed} → ${TONICS[found.pitchClass]} ${found.mode}`);
            for (const label of ['all', mode, genre, `${genre} ${mode}`]) count(label, hit);
          }
    const rate = (label: string) => {
      const t = tally.get(label) ?? { hits: 0, total: 1 };
      return t.hits / t.total;
    };
    const pct = (label: string) => `${(100 * rate(label)).toFixed(1)} %`;
    console.log(
      [
        `K-S key match: all ${pct('all')}, major ${pct('major')}, minor ${pct('minor')} (${tally.get('all')?.total} arrangements)`,
        ...GENRES.map(
          (g) =>
            `  ${g.padEnd(8)} ${pct(g).padStart(7)}   major ${pct(`${g} major`).padStart(7)}   minor ${pct(`${g} minor`).padStart(7)}`,
        ),
        `first misses: ${misses.slice(0, 8).join('; ')}`,
      ].join('\n'),
    );
    expect(rate('all')).toBeGreaterThanOrEqual(0.9);
    expect(rate('major')).toBeGreaterThanOrEqual(0.9);
    expect(rate('minor')).toBeGreaterThanOrEqual(0.9);
  });
});
