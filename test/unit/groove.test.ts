/**
 * One groove per render, played by every part (issue 15, groove): bass, chords and lead were straight
 * while the drums swung, landing 39–65 ms ahead of them. `composeOnGrid` is the arrangement before
 * the groove; `compose` is what is played, note for note the same notes.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BPM, GENRES, type Genre } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import type { Arrangement } from '../../worker/engine/arrangement.js';
import { compose, composeOnGrid } from '../../worker/engine/composer.js';
import { MAX_HUMANIZE_SEC } from '../../worker/engine/groove.js';

const key = parseKey('D minor');
if (!key) throw new Error('key');
const PARTS = ['drums', 'bass', 'chords', 'lead'] as const;
const input = (genre: Genre, seed: number) => ({
  genre,
  bpm: DEFAULT_BPM[genre],
  key,
  mood: 'mellow',
  durationSec: 40,
  seed,
});

interface Played {
  part: (typeof PARTS)[number];
  /** Grid time, beats. */
  grid: number;
  /** 16th step of the bar, or null between steps (a strum, a roll). */
  step: number | null;
  /** Played minus grid time, seconds. */
  delaySec: number;
  gridVelocity: number;
  velocity: number;
}

function played(a: Arrangement, onGrid: Arrangement): Played[] {
  const sec = 60 / a.bpm;
  return PARTS.flatMap((part) => {
    const heard = a[part];
    const written = onGrid[part];
    expect(heard.length, part).toBe(written.length);
    return written.map((w, i) => {
      const h = heard[i] as (typeof heard)[number];
      const sixteenths = w.time * 4;
      const step = Math.abs(sixteenths - Math.round(sixteenths)) < 1e-9 ? Math.round(sixteenths) % 16 : null;
      return {
        part,
        grid: w.time,
        step,
        delaySec: (h.time - w.time) * sec,
        gridVelocity: w.velocity,
        velocity: h.velocity,
      };
    });
  });
}

const CASES = GENRES.flatMap((g) => [1, 2].map((seed) => [g, seed] as const));

describe('groove', () => {
  it.each(CASES)('%s, seed %i: every part is delayed as the drums are on each 16th, within the humanisation', (genre, seed) => {
    const a = compose(input(genre, seed));
    const notes = played(a, composeOnGrid(input(genre, seed)));
    const sec = 60 / a.bpm;
    const { offsets, humanizeSec } = a.groove;
    expect(offsets).toHaveLength(16);
    expect(offsets[0]).toBe(0); // the bar line stays put
    expect(humanizeSec).toBeLessThanOrEqual(MAX_HUMANIZE_SEC);
    // Each note on a step: the step's offset (the same for every part), give or take the humanisation.
    for (const n of notes.filter((x) => x.step !== null)) {
      const expected = (offsets[n.step as number] as number) * sec;
      expect(Math.abs(n.delaySec - expected), `${n.part} at ${n.grid}`).toBeLessThanOrEqual(humanizeSec + 1e-9);
    }
    // Between steps (strums, rolls): no further than the groove moves any step.
    const widest = Math.max(...offsets.map(Math.abs)) * sec + humanizeSec;
    for (const n of notes.filter((x) => x.step === null)) expect(Math.abs(n.delaySec)).toBeLessThanOrEqual(widest + 1e-9);
    // Measured against the drums themselves: where a part and a drum share a grid time off the beat,
    // they sound together, within the two humanisations.
    const drumDelay = new Map(notes.filter((n) => n.part === 'drums').map((n) => [n.grid, n.delaySec]));
    let shared = 0;
    for (const n of notes.filter((x) => x.part !== 'drums' && x.step !== null && x.step % 4 !== 0)) {
      const d = drumDelay.get(n.grid);
      if (d === undefined) continue;
      shared++;
      expect(Math.abs(n.delaySec - d), `${n.part} at ${n.grid}`).toBeLessThanOrEqual(2 * humanizeSec + 1e-9);
    }
    if (genre !== 'ambient') expect(shared).toBeGreaterThan(0);
  });

  it('swings the swung genres on every part: off-beat 8ths late by the swing, not just the drums', () => {
    for (const genre of ['lofi', 'hiphop'] as const) {
      const a = compose(input(genre, 3));
      const notes = played(a, composeOnGrid(input(genre, 3)));
      const swing8thSec = ((a.groove.offsets[2] as number) * 60) / a.bpm;
      expect(swing8thSec, genre).toBeGreaterThan(0.025);
      for (const part of PARTS) {
        const offbeats = notes.filter((n) => n.part === part && n.step !== null && n.step % 4 === 2);
        expect(offbeats.length, `${genre} ${part}`).toBeGreaterThan(0);
        const mean = offbeats.reduce((s, n) => s + n.delaySec, 0) / offbeats.length;
        expect(Math.abs(mean - swing8thSec), `${genre} ${part}`).toBeLessThanOrEqual(a.groove.humanizeSec);
      }
    }
  });

  it('humanises every onset by at most ±10 ms, one draw per onset (a chord stays together), never before the start', () => {
    for (const [genre, seed] of CASES) {
      const a = compose(input(genre, seed));
      const notes = played(a, composeOnGrid(input(genre, seed)));
      const sec = 60 / a.bpm;
      const deviations = notes
        .filter((n) => n.step !== null)
        .map((n) => n.delaySec - (a.groove.offsets[n.step as number] as number) * sec);
      expect(Math.max(...deviations.map(Math.abs))).toBeLessThanOrEqual(MAX_HUMANIZE_SEC + 1e-9);
      if (a.groove.humanizeSec >= 0.005) expect(Math.max(...deviations.map(Math.abs)), genre).toBeGreaterThan(0.002);
      for (const part of PARTS) expect(a[part].every((n) => n.time >= 0)).toBe(true);
      const chordTimes = new Map<number, number>();
      for (const [i, c] of composeOnGrid(input(genre, seed)).chords.entries()) {
        const t = (a.chords[i] as { time: number }).time;
        expect(chordTimes.get(c.time) ?? t).toBe(t);
        chordTimes.set(c.time, t);
      }
    }
  });

  it('gives the same performance for the same seed, and another for another seed', () => {
    expect(JSON.stringify(compose(input('hiphop', 5)))).toBe(JSON.stringify(compose(input('hiphop', 5))));
    const times = (a: Arrangement) => a.bass.map((n) => n.time.toFixed(6)).join(',');
    expect(times(compose(input('hiphop', 5)))).not.toBe(times(compose(input('hiphop', 6))));
  });

  it('shapes velocity: downbeats accented over off-beat 16ths, rising toward the phrase peak', () => {
    const ratios = {
      downbeat: [] as number[],
      sixteenth: [] as number[],
      phraseStart: [] as number[],
      phrasePeak: [] as number[],
    };
    for (const genre of GENRES)
      for (const seed of [1, 2, 3]) {
        const a = compose(input(genre, seed));
        for (const n of played(a, composeOnGrid(input(genre, seed)))) {
          if (n.gridVelocity > 0.8) continue; // no headroom left to show an accent
          const r = n.velocity / n.gridVelocity;
          if (n.step === 0) ratios.downbeat.push(r);
          if (n.step !== null && n.step % 2 === 1) ratios.sixteenth.push(r);
          const section = a.sections.find((s) => n.grid >= s.startBar * 4 && n.grid < (s.startBar + s.bars) * 4);
          const barInPhrase = Math.floor(n.grid / 4 - (section?.startBar ?? 0)) % 4;
          if (barInPhrase === 0) ratios.phraseStart.push(r);
          if (barInPhrase === 2) ratios.phrasePeak.push(r);
        }
      }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(ratios.downbeat)).toBeGreaterThan(mean(ratios.sixteenth) * 1.08);
    expect(mean(ratios.phrasePeak)).toBeGreaterThan(mean(ratios.phraseStart) * 1.05);
  });
});
