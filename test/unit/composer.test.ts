import { describe, expect, it } from 'vitest';
import { GENRES } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import { scalePitchClasses } from '../../src/music/theory.js';
import { compose } from '../../worker/engine/composer.js';
import { MAX_HUMANIZE_SEC } from '../../worker/engine/groove.js';

const key = (k: string) => {
  const parsed = parseKey(k);
  if (!parsed) throw new Error(k);
  return parsed;
};
const base = { genre: 'lofi' as const, bpm: 90, key: key('A minor'), mood: 'mellow', durationSec: 30, seed: 7 };
/** The most a note is played ahead of its grid time (humanisation), in beats at `bpm`. */
const earliest = (bpm: number) => (MAX_HUMANIZE_SEC * bpm) / 60;
/** The bar a played note belongs to: the groove never moves a downbeat, and humanisation is at most 10 ms early. */
const barOf = (time: number, bpm: number) => Math.floor((time + earliest(bpm)) / 4);

describe('composer', () => {
  it('gives the same arrangement for the same input and seed', () => {
    expect(JSON.stringify(compose(base))).toBe(JSON.stringify(compose({ ...base })));
  });

  it('gives audibly different arrangements for different seeds', () => {
    const a = compose(base);
    const b = compose({ ...base, seed: 8 });
    const pitches = (x: typeof a) => x.lead.map((n) => n.midi).join(',');
    expect(pitches(a)).not.toBe(pitches(b));
  });

  it.each(GENRES.flatMap((g) => ['A minor', 'F# major', 'Bb minor', 'C major'].map((k) => [g, k] as const)))(
    '%s in %s: every pitched note is in the key, the raised leading tone over V in minor, or the parallel mode over a borrowed chord',
    (genre, k) => {
      const asked = key(k);
      const parallel = scalePitchClasses({ ...asked, mode: asked.mode === 'major' ? 'minor' : 'major' });
      const inKey = scalePitchClasses(asked);
      const leadingTone = (asked.pitchClass + 11) % 12;
      for (const seed of [123, 124, 125, 126]) {
        const arrangement = compose({ ...base, genre, key: asked, seed });
        const notes = [...arrangement.bass, ...arrangement.chords, ...arrangement.lead];
        expect(notes.length).toBeGreaterThan(0);
        const chordOf = (n: { time: number }) => arrangement.harmony[barOf(n.time, base.bpm)];
        for (const n of notes.filter((n) => !inKey.has(n.midi % 12))) {
          const chord = chordOf(n);
          if (chord?.borrowed) expect(parallel.has(n.midi % 12), `${n.midi} over borrowed ${chord.root}`).toBe(true);
          else {
            // Harmonic minor: the 7th is raised only where the bar's chord is the dominant (degree 4).
            expect(asked.mode).toBe('minor');
            expect(n.midi % 12).toBe(leadingTone);
            expect(chord?.root).toBe(4);
          }
        }
        if (asked.mode === 'major') continue;
        // Every dominant bar with chords sounds the leading tone: V is major, not v.
        const dominantBars = arrangement.harmony.flatMap((c, bar) => (c.root === 4 && !c.borrowed ? [bar] : []));
        expect(dominantBars.length).toBeGreaterThan(0);
        for (const bar of dominantBars)
          expect(
            arrangement.chords.some((n) => barOf(n.time, base.bpm) === bar && n.midi % 12 === leadingTone),
            `bar ${bar}`,
          ).toBe(true);
      }
    },
  );

  it.each([
    [90, 30],
    [174, 20],
    [60, 5],
    [128, 300],
  ])(
    'at %i bpm for %i s: the bars cover the duration and every bar of the main sections has drums and bass',
    (bpm, durationSec) => {
      const a = compose({ ...base, genre: 'hiphop', bpm, durationSec });
      const barSec = (4 * 60) / bpm;
      expect(a.bars * barSec).toBeGreaterThanOrEqual(durationSec);
      expect((a.bars - 1) * barSec).toBeLessThan(durationSec);
      expect(a.sections.reduce((n, s) => n + s.bars, 0)).toBe(a.bars);
      for (const section of a.sections.filter((s) => s.name === 'main')) {
        for (let bar = section.startBar; bar < section.startBar + section.bars; bar++) {
          expect(
            a.drums.some((h) => h.time >= bar * 4 && h.time < bar * 4 + 4),
            `drums in bar ${bar}`,
          ).toBe(true);
          expect(
            a.bass.some((n) => n.time >= bar * 4 && n.time < bar * 4 + 4),
            `bass in bar ${bar}`,
          ).toBe(true);
        }
      }
    },
  );

  it('shapes a long piece into intro, main, break and outro, with a repeating motif', () => {
    const a = compose({ ...base, durationSec: 90 });
    expect(a.sections.map((s) => s.name)).toEqual(['intro', 'main', 'break', 'main', 'outro']);
    // The lead's rhythm in the first bar of the main section comes back two bars later, played with
    // the same groove: each onset the same, but for the two notes' humanisation.
    const main = a.sections[1];
    if (!main) throw new Error('no main section');
    const rhythm = (bar: number) => a.lead.filter((n) => barOf(n.time, a.bpm) === bar).map((n) => n.time - bar * 4);
    const first = rhythm(main.startBar);
    const again = rhythm(main.startBar + 2);
    expect(first.length).toBeGreaterThan(0);
    expect(again.length).toBe(first.length);
    for (const [i, t] of first.entries())
      expect(Math.abs((again[i] as number) - t)).toBeLessThanOrEqual(2 * earliest(a.bpm) + 1e-9);
  });

  it('states the key: the intro on the tonic turning on V, each section opening on the progression, the outro on the tonic', () => {
    const a = compose({ ...base, durationSec: 90 });
    const chordsOf = (name: string) =>
      a.sections.filter((s) => s.name === name).map((s) => a.progression.slice(s.startBar, s.startBar + s.bars));
    const [intro] = chordsOf('intro');
    expect(intro?.slice(0, -1).every((c) => c === 0)).toBe(true);
    expect(intro?.at(-1)).toBe(4);
    for (const outro of chordsOf('outro')) expect(outro.every((c) => c === 0)).toBe(true);
    const mains = chordsOf('main');
    expect(mains.length).toBe(2);
    expect(mains[1]?.slice(0, 4)).toEqual(mains[0]?.slice(0, 4));
  });

  it('swings lo-fi off-beats but keeps techno straight, within its humanisation', () => {
    // Hats whose nominal grid step is an off-beat 8th (step 2 of 4).
    const offbeats = (genre: 'lofi' | 'techno') =>
      compose({ ...base, genre }).drums.filter((h) => h.drum === 'hat' && Math.round(h.time * 4) % 4 === 2);
    expect(offbeats('lofi').length).toBeGreaterThan(0);
    expect(offbeats('lofi').every((h) => h.time * 4 - Math.round(h.time * 4) > 0.05)).toBe(true);
    const techno = compose({ ...base, genre: 'techno' });
    expect(techno.groove.offsets.every((o) => o === 0)).toBe(true);
    const tight = (techno.groove.humanizeSec * base.bpm) / 60;
    expect(tight).toBeLessThanOrEqual(earliest(base.bpm));
    expect(offbeats('techno').every((h) => Math.abs(h.time - Math.round(h.time * 4) / 4) <= tight + 1e-9)).toBe(true);
  });
});
