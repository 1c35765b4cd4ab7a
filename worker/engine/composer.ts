/**
 * (genre, bpm, key, mood, duration, seed) → an arrangement: sections, a chord progression chosen by
 * mood and seed (harmony.ts), drums from the genre's lines with fills and builds (drums.ts), a
 * bassline from its rhythm cells (bassline.ts), chords voiced close to each other, and a lead in
 * phrases of question and answer (melody.ts), all written on the 16th grid and then played with one
 * groove (groove.ts) and one palette of sounds (palette.ts). Every pitch comes from the key's scale
 * (in minor, harmonic minor over V), or from the parallel mode over a borrowed chord; the same input
 * and seed give the same arrangement.
 */
import type { Genre } from '../../src/music/genres.js';
import type { MusicalKey } from '../../src/music/keys.js';
import { type Arrangement, BEATS_PER_BAR, type Chord, type Note, type Section } from './arrangement.js';
import { composeBass } from './bassline.js';
import { composeDrums } from './drums.js';
import { applyGroove, grooveFor, STRAIGHT } from './groove.js';
import { chordsOfBars, planHarmony, voiceChord } from './harmony.js';
import { composeLead } from './melody.js';
import { paletteFor } from './palette.js';
import { humanize, Rng } from './rng.js';
import { STYLES, type Style } from './styles.js';

export interface ComposeInput {
  genre: Genre;
  bpm: number;
  key: MusicalKey;
  mood: string;
  durationSec: number;
  seed: number;
}

/** The arrangement as played: `composeOnGrid`'s, with the render's groove on every part. */
export function compose(input: ComposeInput): Arrangement {
  const rng = new Rng(input.seed);
  return applyGroove(composeOnGrid(input), grooveFor(input.genre, rng.fork('groove')), rng.fork('humanize'));
}

/** The arrangement on the 16th grid, before the groove: the notes `compose` plays, exactly in time. */
export function composeOnGrid(input: ComposeInput): Arrangement {
  const style = STYLES[input.genre];
  const rng = new Rng(input.seed);
  const bars = Math.max(1, Math.ceil((input.durationSec * input.bpm) / 60 / BEATS_PER_BAR));
  const sections = planSections(bars);
  const plan = planHarmony(input.mood, input.key.mode, rng.fork('progression'));
  const barsPerChord = style.barsPerChord;
  const harmony = chordsOfBars(plan, sections, barsPerChord, input.key);
  const drums = composeDrums(style, input.mood, bars, sections, rng.fork('drums'));
  return {
    ...input,
    bars,
    sections,
    progression: harmony.map((c) => c.root),
    harmony,
    palette: paletteFor(input.genre, rng.fork('palette')),
    vinyl: style.vinyl,
    groove: STRAIGHT,
    builds: drums.builds,
    drums: drums.hits,
    bass: composeBass(style, input.key, harmony, sections, rng.fork('bass')),
    chords: composeChords(style, input.key, harmony, sections, rng.fork('chords')),
    lead: composeLead(style, input.key, harmony, sections, barsPerChord, rng.fork('lead')),
  };
}

/** intro, main, break, main, outro, scaled to the length. */
export function planSections(bars: number): Section[] {
  if (bars < 6) return [{ name: 'main', startBar: 0, bars, energy: 1 }];
  const intro = Math.max(1, Math.round(bars * 0.15));
  const outro = Math.max(1, Math.round(bars * 0.12));
  const brk = bars >= 12 ? Math.max(1, Math.round(bars * 0.12)) : 0;
  const mainBars = bars - intro - outro - brk;
  const first = brk ? Math.ceil(mainBars / 2) : mainBars;
  const out: Section[] = [{ name: 'intro', startBar: 0, bars: intro, energy: 0.45 }];
  out.push({ name: 'main', startBar: intro, bars: first, energy: 1 });
  if (brk) {
    out.push({ name: 'break', startBar: intro + first, bars: brk, energy: 0.35 });
    out.push({ name: 'main', startBar: intro + first + brk, bars: mainBars - first, energy: 1 });
  }
  out.push({ name: 'outro', startBar: bars - outro, bars: outro, energy: 0.5 });
  return out.filter((s) => s.bars > 0);
}

/** Chord rhythms (beat, length in beats) by style; a render picks one. */
const CHORD_RHYTHMS: Record<'keys' | 'stabs' | 'offbeat', [number, number][][]> = {
  keys: [
    [
      [0, 1.5],
      [2.5, 1.25],
    ],
    [
      [0, 2],
      [2, 1.75],
    ],
    [
      [0, 1],
      [1.5, 1],
      [3, 0.9],
    ],
    [
      [0, 3],
      [3.5, 0.4],
    ],
  ],
  stabs: [
    [
      [0, 0.3],
      [1.5, 0.3],
      [2.5, 0.3],
    ],
    [
      [0, 0.3],
      [0.75, 0.3],
      [2.5, 0.3],
    ],
    [
      [0.5, 0.3],
      [1.25, 0.3],
      [2.5, 0.3],
      [3.25, 0.3],
    ],
  ],
  offbeat: [
    [
      [0.5, 0.3],
      [1.5, 0.3],
      [2.5, 0.3],
      [3.5, 0.3],
    ],
    [
      [0.5, 0.3],
      [1.5, 0.3],
      [2.75, 0.3],
      [3.5, 0.3],
    ],
    [
      [0.5, 0.3],
      [1.75, 0.3],
      [2.5, 0.3],
    ],
  ],
};

/**
 * The chords: each voiced close to the one before (so in inversions), in a rhythm picked per render.
 * The break holds them as pads. House and techno chords move: their filter opens and closes over
 * eight bars. The phase is taken within the eight (`bar % 8`) so that it repeats exactly: sin(2π·bar/8)
 * differs in its last bits from bar to bar, and a chord pitch whose brightness repeats is computed
 * once for every bar it comes back in (synth.ts renderTones), with the same samples.
 */
function composeChords(style: Style, key: MusicalKey, harmony: readonly Chord[], sections: readonly Section[], rng: Rng): Note[] {
  const notes: Note[] = [];
  const rhythm = rng.pick(CHORD_RHYTHMS[style.chordRhythm]);
  const moves = style.chordMotion;
  let previous: number[] | undefined;
  for (const section of sections) {
    for (let barInSection = 0; barInSection < section.bars; barInSection++) {
      const bar = section.startBar + barInSection;
      const chord = harmony[bar] as Chord;
      const v = 0.5 + 0.3 * section.energy;
      const pitches = voiceChord(key, chord, style.sevenths ? 4 : 3, previous);
      previous = pitches;
      const bright = moves ? 0.75 + 0.35 * Math.sin((2 * Math.PI * (bar % 8)) / 8) : undefined;
      const hit = (time: number, duration: number, strum = 0) => {
        for (const [i, midi] of pitches.entries())
          notes.push({ time: bar * 4 + time + i * strum, duration, midi, velocity: humanize(v, rng), ...(bright && { bright }) });
      };
      const kind = section.name === 'break' ? 'pad' : style.chords;
      if (kind === 'pad' || kind === 'swell') hit(0, 4);
      else for (const [time, duration] of rhythm) hit(time, duration, kind === 'keys' ? 0.02 : 0);
    }
  }
  return notes;
}
