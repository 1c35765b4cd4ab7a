/**
 * Variety over 1,000 seeds per genre (issue 15): with the key, tempo and mood fixed, the seed alone
 * must give at least 12 chord progressions, 8 drum patterns and 10 basslines, and its own sound
 * (kit, filter, envelope, detune). Counted on the arrangement on the grid (`composeOnGrid`, before
 * the groove's humanisation, which would make every seed "distinct").
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BPM, GENRES, type Genre } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import type { Arrangement } from '../../worker/engine/arrangement.js';
import { composeOnGrid } from '../../worker/engine/composer.js';

const SEEDS = 1000;

/** The first main section's chords, bar by bar (a borrowed chord marked). */
const progression = (a: Arrangement) => {
  const main = a.sections.find((s) => s.name === 'main');
  if (!main) throw new Error('no main section');
  return a.harmony
    .slice(main.startBar, main.startBar + main.bars)
    .map((c) => `${c.root}${c.borrowed ? 'b' : ''}`)
    .join(' ');
};

/** The first main bar's drums: which drum on which 16th step (rolls off the grid left out). */
const drumPattern = (a: Arrangement) => {
  const bar = a.sections.find((s) => s.name === 'main')?.startBar ?? 0;
  return a.drums
    .filter((h) => h.time >= bar * 4 && h.time < bar * 4 + 4 && Number.isInteger((h.time - bar * 4) * 4))
    .map((h) => `${h.drum}@${(h.time - bar * 4) * 4}`)
    .sort()
    .join(' ');
};

/** The first main section's first four bars of bass: each note's step, length and interval over its bar's chord root. */
const bassline = (a: Arrangement) => {
  const main = a.sections.find((s) => s.name === 'main');
  if (!main) throw new Error('no main section');
  const roots = new Map<number, number>();
  return a.bass
    .filter((n) => n.time >= main.startBar * 4 && n.time < (main.startBar + 4) * 4)
    .map((n) => {
      const bar = Math.floor(n.time / 4);
      if (!roots.has(bar)) roots.set(bar, n.midi);
      return `${(n.time - bar * 4) * 4}:${n.duration.toFixed(2)}:${n.midi - (roots.get(bar) as number)}`;
    })
    .join(' ');
};

const key = parseKey('A minor');
if (!key) throw new Error('key');

function over1000(genre: Genre, mood = 'mellow', mode: 'A minor' | 'C major' = 'A minor') {
  const k = parseKey(mode);
  if (!k) throw new Error(mode);
  const sets = {
    progressions: new Set<string>(),
    drums: new Set<string>(),
    basslines: new Set<string>(),
    palettes: new Set<string>(),
  };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const a = composeOnGrid({ genre, bpm: DEFAULT_BPM[genre], key: k, mood, durationSec: 60, seed });
    sets.progressions.add(progression(a));
    sets.drums.add(drumPattern(a));
    sets.basslines.add(bassline(a));
    sets.palettes.add(JSON.stringify(a.palette));
  }
  return Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, v.size])) as Record<keyof typeof sets, number>;
}

describe('variety over 1,000 seeds', () => {
  it.each(GENRES.map((g) => [g]))('%s: ≥ 12 progressions, ≥ 8 drum patterns, ≥ 10 basslines, a palette per seed', (genre) => {
    for (const mode of ['A minor', 'C major'] as const) {
      // Ambient plays drums only when the mood asks for them.
      const counts = over1000(genre, genre === 'ambient' ? 'driving' : 'mellow', mode);
      expect(counts.progressions, `${genre} ${mode} progressions`).toBeGreaterThanOrEqual(12);
      expect(counts.drums, `${genre} ${mode} drum patterns`).toBeGreaterThanOrEqual(8);
      expect(counts.basslines, `${genre} ${mode} basslines`).toBeGreaterThanOrEqual(10);
      expect(counts.palettes, `${genre} ${mode} palettes`).toBeGreaterThanOrEqual(900);
    }
  });

  it('every mood offers ≥ 12 progressions in each mode (lo-fi, 1,000 seeds each)', () => {
    for (const mood of ['mellow', 'happy', 'dark', 'sad', 'dreamy'])
      for (const mode of ['A minor', 'C major'] as const)
        expect(over1000('lofi', mood, mode).progressions, `${mood} ${mode}`).toBeGreaterThanOrEqual(12);
  });

  it('borrowed chords, a major V in minor and inversions all occur', () => {
    let borrowed = 0;
    let majorV = 0;
    let inversions = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const a = composeOnGrid({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: 60, seed });
      if (a.harmony.some((c) => c.borrowed)) borrowed++;
      // G# in A minor, in the chords over V.
      if (a.chords.some((n) => n.midi % 12 === 8)) majorV++;
      // A chord whose lowest note is not its root: at least one voicing per piece is inverted.
      const byTime = new Map<number, number[]>();
      for (const n of a.chords) byTime.set(Math.round(n.time * 4), [...(byTime.get(Math.round(n.time * 4)) ?? []), n.midi]);
      const rootsPc = a.harmony.map((c) => c.root);
      if (
        [...byTime.entries()].some(([step, midis]) => {
          const chord = a.harmony[Math.floor(step / 16)];
          const lowest = Math.min(...midis) % 12;
          // A minor's degrees as pitch classes (harmonic over V does not change roots).
          const rootPc = [9, 11, 0, 2, 4, 5, 7][(chord?.root ?? 0) % 7] as number;
          return chord !== undefined && lowest !== rootPc;
        })
      )
        inversions++;
      expect(rootsPc.length).toBe(a.bars);
    }
    // In minor only a progression with iv can borrow (the major IV): about a fifth of renders.
    expect(borrowed).toBeGreaterThan(20);
    expect(majorV).toBeGreaterThan(150);
    expect(inversions).toBeGreaterThan(150);
  });
});
