/**
 * Form and genre idiom (issue 15): melodies in question-and-answer phrases with a contour, a break
 * that changes the harmony, layers entering and leaving by section, a build before each drop, varied
 * fills, and each genre's rules (docs/sound.md, "Genre idiom"). Checked on the arrangement on the
 * grid; the 808 glide and the reese also as sound.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BPM, GENRES, type Genre } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import type { Arrangement, DrumName, Section } from '../../worker/engine/arrangement.js';
import { compose, composeOnGrid, planSections } from '../../worker/engine/composer.js';
import { composeDrums } from '../../worker/engine/drums.js';
import { SAMPLE_RATE, stereo } from '../../worker/engine/dsp.js';
import { legatoRuns, renderPart, toneFor } from '../../worker/engine/render.js';
import { Rng } from '../../worker/engine/rng.js';
import { STYLES } from '../../worker/engine/styles.js';
import { renderTone } from '../../worker/engine/synth.js';

const key = parseKey('A minor');
if (!key) throw new Error('key');
const piece = (genre: Genre, seed: number, extra: { mood?: string; durationSec?: number } = {}) =>
  composeOnGrid({
    genre,
    bpm: DEFAULT_BPM[genre],
    key,
    mood: extra.mood ?? 'mellow',
    durationSec: extra.durationSec ?? 90,
    seed,
  });

const inBars = <T extends { time: number }>(items: T[], from: number, bars: number) =>
  items.filter((x) => x.time >= from * 4 && x.time < (from + bars) * 4);
const sectionsNamed = (a: Arrangement, name: Section['name']) => a.sections.filter((s) => s.name === name);
const drumsIn = (a: Arrangement, s: Section) => new Set(inBars(a.drums, s.startBar, s.bars).map((h) => h.drum));

describe('form', () => {
  it.each(GENRES.map((g) => [g]))(
    '%s: lead phrases of question and answer with a contour, not a transposed one-bar cell',
    (genre) => {
      const style = STYLES[genre];
      const phraseBars = 4 * style.barsPerChord;
      let phrases = 0;
      const questions: boolean[] = [];
      for (const seed of [1, 2, 3, 4, 5]) {
        const a = piece(genre, seed, { durationSec: 120 });
        for (const main of sectionsNamed(a, 'main'))
          for (let p = 0; p + phraseBars <= main.bars; p += phraseBars) {
            const from = main.startBar + p;
            const bars = Array.from({ length: phraseBars }, (_, i) => inBars(a.lead, from + i, 1));
            if (bars.some((b) => b.length === 0)) continue;
            phrases++;
            const onsets = (i: number) => (bars[i] ?? []).map((n) => n.time - (from + i) * 4).join(',');
            // The answer opens with the question's rhythm.
            expect(onsets(phraseBars / 2), `${genre} seed ${seed} bar ${from}`).toBe(onsets(0));
            // A contour: the phrase spans at least a major third, and its bars are not one cell transposed.
            const all = bars.flat().map((n) => n.midi);
            expect(Math.max(...all) - Math.min(...all)).toBeGreaterThanOrEqual(4);
            // The bars before the cadence: the first and the answer's first share a rhythm but not a transposed shape.
            const shape = (i: number) => (bars[i] ?? []).map((n, _, b) => n.midi - (b[0]?.midi ?? 0)).join(',');
            const before = bars.slice(0, -1).map((_, i) => `${onsets(i)}|${shape(i)}`);
            expect(new Set(before).size).toBeGreaterThan(1);
            // The question rises: its highest note above its first.
            const question = bars.slice(0, phraseBars / 2).flat();
            if (question.length > 2) questions.push(Math.max(...question.map((n) => n.midi)) > (question[0]?.midi ?? 0));
            // The phrase closes on its longest note.
            const last = bars[phraseBars - 1]?.at(-1);
            expect(last?.duration).toBe(Math.max(...bars.flat().map((n) => n.duration)));
          }
      }
      expect(phrases, `${genre}: phrases checked`).toBeGreaterThan(style.leadDensity > 0 ? 3 : 0);
      // Most questions climb (a snap to a chord tone can flatten a few).
      expect(questions.filter(Boolean).length, genre).toBeGreaterThanOrEqual(0.75 * questions.length);
    },
  );

  it.each(GENRES.map((g) => [g]))(
    '%s: the break changes the harmony and ends on V; layers enter and leave by section (the crash aside)',
    (genre) => {
      for (const seed of [1, 2, 3]) {
        const a = piece(genre, seed);
        const [brk] = sectionsNamed(a, 'break');
        const mains = sectionsNamed(a, 'main');
        const intro = sectionsNamed(a, 'intro')[0];
        const outro = sectionsNamed(a, 'outro')[0];
        if (!brk || !intro || !outro || mains.length !== 2) throw new Error('expected intro, main, break, main, outro');
        const chords = (s: Section) => a.harmony.slice(s.startBar, s.startBar + s.bars).map((c) => c.root);
        expect(chords(brk).slice(0, -1).join(), `${genre} seed ${seed}`).not.toBe(
          chords(mains[0] as Section)
            .slice(0, brk.bars - 1)
            .join(),
        );
        expect(chords(brk).at(-1)).toBe(4);
        // Lead: out in the intro and outro. Bass: out in the break (ambient's drone stays).
        expect(inBars(a.lead, intro.startBar, intro.bars)).toEqual([]);
        expect(inBars(a.lead, outro.startBar, outro.bars)).toEqual([]);
        if (genre !== 'ambient') expect(inBars(a.bass, brk.startBar, brk.bars)).toEqual([]);
        if (a.drums.length === 0) continue;
        // Drums: no backbeat in the intro, no kick in the break, and the second main section adds a layer or a crash.
        const backbeat: DrumName[] = ['snare', 'clap'];
        // (The intro's last half bar may hold the fill into the main section.)
        const introBody = inBars(a.drums, intro.startBar, intro.bars).filter(
          (h) => h.time < (intro.startBar + intro.bars) * 4 - 2,
        );
        expect(introBody.some((h) => backbeat.includes(h.drum))).toBe(false);
        expect(drumsIn(a, brk).has('kick')).toBe(false);
        // Their first bars (no fill there): what the second plays that the first does not.
        const firstBar = (s: Section) =>
          new Set(
            inBars(a.drums, s.startBar, 1).flatMap((h) => (h.drum === 'crash' ? [] : [`${h.drum}@${h.time - s.startBar * 4}`])),
          );
        const first = firstBar(mains[0] as Section);
        const second = firstBar(mains[1] as Section);
        expect(
          [...second].some((d) => !first.has(d)),
          `${genre} seed ${seed}: ${[...first]} → ${[...second]}`,
        ).toBe(true);
      }
    },
  );

  it.each(GENRES.filter((g) => STYLES[g].drop).map((g) => [g]))(
    '%s: a build (roll to 32nds, riser, filter sweep) before the drop, a crash on it',
    (genre) => {
      for (const seed of [1, 2, 3]) {
        const a = piece(genre, seed);
        const [brk] = sectionsNamed(a, 'break');
        if (!brk) throw new Error('no break');
        const end = (brk.startBar + brk.bars) * 4;
        expect(a.builds).toEqual([{ startBeat: end - Math.min(2, brk.bars) * 4, endBeat: end }]);
        const riser = a.drums.find((h) => h.drum === 'riser');
        expect(riser && riser.time + (riser.duration ?? 0)).toBe(end);
        // The last beat of the break: a snare or clap every 32nd.
        const lastBeat = a.drums.filter((h) => (h.drum === 'snare' || h.drum === 'clap') && h.time >= end - 1 && h.time < end);
        expect(lastBeat.length).toBe(8);
        expect(a.drums.some((h) => h.drum === 'crash' && h.time === end)).toBe(true);
      }
    },
  );

  it.each(GENRES.filter((g) => g !== 'ambient').map((g) => [g]))(
    '%s: fills vary (≥ 3 kinds over 20 seeds, from its own set)',
    (genre) => {
      const kinds = new Set<string>();
      const sections = planSections(Math.ceil((90 * DEFAULT_BPM[genre]) / 240));
      const bars = sections.reduce((n, s) => n + s.bars, 0);
      for (let seed = 1; seed <= 20; seed++)
        for (const fill of composeDrums(STYLES[genre], 'mellow', bars, sections, new Rng(seed)).fills) kinds.add(fill);
      expect(kinds.size).toBeGreaterThanOrEqual(Math.min(3, STYLES[genre].fills.length));
      for (const k of kinds) expect(STYLES[genre].fills).toContain(k);
    },
  );
});

describe('genre idiom', () => {
  it('trap: hat rolls in 32nds with a pitch ramp, and 808 notes that glide', () => {
    let rolls = 0;
    let glides = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const a = piece('trap', seed);
      const hats = a.drums.filter((h) => h.drum === 'hat' && h.pitch !== undefined);
      // Eight hats a beat, their pitch moving one way.
      for (let beat = 0; beat < a.bars * 4; beat++) {
        const roll = hats.filter((h) => h.time >= beat && h.time < beat + 1);
        const steps = roll
          .slice(1)
          .map((h, i) => [h.time - (roll[i] as typeof h).time, (h.pitch ?? 0) - ((roll[i] as typeof h).pitch ?? 0)]);
        const rising = steps.every(([, p]) => (p as number) > 0);
        const falling = steps.every(([, p]) => (p as number) < 0);
        if (roll.length === 8 && steps.every(([t]) => Math.abs((t as number) - 0.125) < 1e-9) && (rising || falling)) rolls++;
      }
      glides += a.bass.filter((n) => n.glideFrom !== undefined).length;
    }
    expect(rolls).toBeGreaterThan(5);
    expect(glides).toBeGreaterThan(10);
  });

  it('trap: a glide is one voice sliding, heard: G2 held, then C2, at the same level', () => {
    const a = piece('trap', 1);
    // The arrangement's glides become slides within one voice.
    const runs = legatoRuns(a.bass, 60 / a.bpm);
    expect(runs.length).toBeLessThan(a.bass.length);
    expect(runs.some((r) => (r.shape.slides?.length ?? 0) > 0)).toBe(true);
    const out = stereo(SAMPLE_RATE);
    renderTone(out, 0, 0.6, 43, 1, toneFor(a, 'bass'), { slides: [{ atSec: 0.25, midi: 36 }] });
    const at = (sec: number) => Math.round(sec * SAMPLE_RATE);
    const hz = (from: number, to: number) => {
      let n = 0;
      for (let i = at(from) + 1; i < at(to); i++)
        if (Math.sign(out.left[i] as number) !== Math.sign(out.left[i - 1] as number)) n++;
      return n / 2 / (to - from);
    };
    const rmsDb = (from: number, to: number) => {
      let sum = 0;
      for (let i = at(from); i < at(to); i++) sum += (out.left[i] as number) ** 2;
      return 10 * Math.log10(sum / (at(to) - at(from)));
    };
    expect(Math.abs(hz(0.05, 0.25) - 98)).toBeLessThan(5);
    expect(Math.abs(hz(0.4, 0.6) - 65.4)).toBeLessThan(5);
    expect(Math.abs(rmsDb(0.25, 0.3) - rmsDb(0.2, 0.25))).toBeLessThan(1.5);
  });

  it('dnb: 170–176 bpm, a breakbeat with ghost snares, a reese bass', () => {
    expect(DEFAULT_BPM.dnb).toBeGreaterThanOrEqual(170);
    expect(DEFAULT_BPM.dnb).toBeLessThanOrEqual(176);
    let ghosts = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const a = piece('dnb', seed);
      // A ghost: a quiet snare off beats 2 and 4, in a main section's first bar (no fill, no build there).
      const firsts = sectionsNamed(a, 'main').flatMap((m) => inBars(a.drums, m.startBar, 1));
      if (firsts.some((h) => h.drum === 'snare' && h.velocity < 0.4 && ![1, 3].includes(h.time % 4))) ghosts++;
      // The kick never on beats 2 and 4 of a main section's first bar (a breakbeat, not four on the floor).
      for (const main of sectionsNamed(a, 'main'))
        expect(inBars(a.drums, main.startBar, 1).some((h) => h.drum === 'kick' && [1, 3].includes(h.time % 4))).toBe(false);
    }
    expect(ghosts).toBeGreaterThan(5);
    const reese = toneFor(piece('dnb', 1), 'bass');
    expect(reese).toMatchObject({ timbre: 'saw' });
    expect(reese.detune).toBeGreaterThanOrEqual(15);
  });

  it('ambient: no drums unless the mood asks for them; long swelling chords and a long reverb', () => {
    for (let seed = 1; seed <= 10; seed++) expect(piece('ambient', seed).drums).toEqual([]);
    expect(piece('ambient', 1, { mood: 'driving' }).drums.length).toBeGreaterThan(0);
    const a = piece('ambient', 1);
    expect(a.chords.every((n) => n.duration === 4)).toBe(true);
    expect(toneFor(a, 'chords').attack).toBeGreaterThan(0.5);
    expect(STYLES.ambient.reverb).toBeGreaterThanOrEqual(0.5);
  });

  it('lo-fi: swung hats, and a record: wow and flutter on the chords and lead (the crackle: note-ends.test.ts)', () => {
    const played = compose({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: 20, seed: 1 });
    expect(played.vinyl).toBe(true);
    expect(GENRES.filter((g) => piece(g, 1).vinyl)).toEqual(['lofi']);
    // Off-beat 8ths played late.
    const offbeats = played.drums.filter((h) => h.drum === 'hat' && Math.abs((h.time % 1) - 0.5) < 0.2);
    expect(offbeats.length).toBeGreaterThan(0);
    expect(offbeats.every((h) => h.time % 1 > 0.5)).toBe(true);
    // The wobble: the chords with the record differ from the chords without, by a delay that moves.
    const wobbly = renderPart(played, 'chords');
    const steady = renderPart({ ...played, vinyl: false }, 'chords');
    let diff = 0;
    let power = 0;
    for (let i = 0; i < steady.left.length; i++) {
      diff += ((wobbly.left[i] as number) - (steady.left[i] as number)) ** 2;
      power += (steady.left[i] as number) ** 2;
    }
    expect(10 * Math.log10(diff / power)).toBeGreaterThan(-30);
  });

  it('pop: root eighths in the bass with passing notes', () => {
    for (const seed of [1, 2, 3, 4]) {
      const a = piece('pop', seed);
      const [main] = sectionsNamed(a, 'main');
      if (!main) throw new Error('no main');
      for (let bar = main.startBar; bar < main.startBar + main.bars; bar++) {
        const notes = inBars(a.bass, bar, 1);
        expect(notes.map((n) => n.time - bar * 4)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
        // Most of the bar on the root.
        const root = notes[0]?.midi;
        expect(notes.filter((n) => n.midi === root).length).toBeGreaterThanOrEqual(5);
      }
      // Somewhere a note that is not the chord's root, third or fifth: a passing note.
      expect(
        inBars(a.bass, main.startBar, main.bars).some((n) => {
          const bar = Math.floor(n.time / 4);
          const first = inBars(a.bass, bar, 1)[0]?.midi ?? n.midi;
          return ![0, 3, 4, 7, 12].includes((((n.midi - first) % 12) + 12) % 12);
        }),
      ).toBe(true);
    }
  });

  it('house and techno chords move: their filter opens and closes over eight bars', () => {
    for (const genre of ['house', 'techno'] as const) {
      const bright = new Set(piece(genre, 1).chords.map((n) => n.bright?.toFixed(2)));
      expect(bright.size, genre).toBeGreaterThanOrEqual(4);
    }
  });
});
