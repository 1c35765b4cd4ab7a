/**
 * One groove per render, played by every part (issue 15, groove): the composer writes on the 16th
 * grid, and the groove then moves every note and hit of every part by the same rule, so that bass,
 * chords and lead sit on the swung drums instead of ahead of them.
 */
import type { Genre } from '../../src/music/genres.js';
import { type Arrangement, BEATS_PER_BAR, type Groove, type Section } from './arrangement.js';
import type { Rng } from './rng.js';
import { STYLES } from './styles.js';

const STEPS = 16;
const SIXTEENTH = 0.25; // beats

/** The largest timing humanisation either way, in seconds. */
export const MAX_HUMANIZE_SEC = 0.01;

/**
 * Micro-timing on top of the swing, in 16ths, per step of a beat (repeated over the bar) or of the
 * whole bar: a lazy backbeat (2 and 4 late, the boom-bap drag), the 16th before each beat pushed
 * early (anticipation), every off-beat a touch late (laid back).
 */
type Feel = 'even' | 'lazyBackbeat' | 'pushed' | 'laidBack';
const FEELS: Record<Feel, number[]> = {
  even: [0, 0, 0, 0],
  lazyBackbeat: [0, 0, 0, 0, 0.12, 0, 0, 0, 0, 0, 0, 0, 0.12, 0, 0, 0],
  pushed: [0, 0, 0, -0.08],
  laidBack: [0, 0.06, 0.06, 0.06],
};

/** Feels each genre draws from (by seed), and how much it humanises: sequenced genres stay tight. */
const GENRE_FEEL: Record<Genre, { feels: Feel[]; humanizeSec: number }> = {
  lofi: { feels: ['lazyBackbeat', 'laidBack', 'even'], humanizeSec: 0.01 },
  hiphop: { feels: ['lazyBackbeat', 'even', 'laidBack'], humanizeSec: 0.008 },
  trap: { feels: ['even', 'pushed'], humanizeSec: 0.004 },
  house: { feels: ['even', 'pushed'], humanizeSec: 0.004 },
  techno: { feels: ['even'], humanizeSec: 0.002 },
  dnb: { feels: ['even', 'pushed'], humanizeSec: 0.004 },
  ambient: { feels: ['even', 'laidBack'], humanizeSec: 0.01 },
  pop: { feels: ['even', 'pushed'], humanizeSec: 0.006 },
};

/** Bar downbeat, the other beats, off-beat 8ths, off-beat 16ths: a gentle accent, same for every part. */
const ACCENTS = [1.06, 0.9, 0.95, 0.9, 1, 0.9, 0.95, 0.9, 1.02, 0.9, 0.95, 0.9, 1, 0.9, 0.95, 0.9];

/** The render's groove: the genre's swing varied ±15 % by seed, and one of its feels. */
export function grooveFor(genre: Genre, rng: Rng): Groove {
  const { feels, humanizeSec } = GENRE_FEEL[genre];
  // The swing keeps the shape the drums always had: a third of the style's swing, in 16ths.
  const swing = STYLES[genre].swing * SIXTEENTH * 0.33 * (0.85 + 0.3 * rng.next());
  const feel = rng.pick(feels);
  const micro = FEELS[feel];
  const offsets = Array.from({ length: STEPS }, (_, step) => {
    const swung = step % 2 === 1 ? swing : step % 4 === 2 ? 2 * swing : 0;
    return swung + (micro[step % micro.length] as number) * SIXTEENTH;
  });
  return { feel, swing, offsets, accents: [...ACCENTS], humanizeSec };
}

/** The straight groove: the grid itself. */
export const STRAIGHT: Groove = {
  feel: 'even',
  swing: 0,
  offsets: new Array<number>(STEPS).fill(0),
  accents: new Array<number>(STEPS).fill(1),
  humanizeSec: 0,
};

/**
 * Where the groove puts a time on the grid, in beats. Between two steps (a strum, a roll, a note's
 * end) it moves by the two steps' offsets weighted by nearness, so order is kept (offsets differ
 * by far less than a 16th). A bar's downbeat never moves.
 */
function grooveTime(groove: Groove, time: number): number {
  const position = (time / SIXTEENTH) % STEPS; // 16ths into the bar
  const step = Math.floor(position + 1e-9);
  const frac = Math.max(0, position - step);
  const here = groove.offsets[step % STEPS] as number;
  const next = groove.offsets[(step + 1) % STEPS] as number;
  return time + here * (1 - frac) + next * frac;
}

/** The 16th step of the bar a grid time falls in. */
function stepOf(time: number): number {
  return Math.floor(time / SIXTEENTH + 1e-9) % STEPS;
}

/**
 * Velocity over a 4-bar phrase, counted from its section's start: from 0.92 at its start rising to
 * 1.04 three quarters in (the phrase's peak), easing to 0.96 at its end.
 */
function phraseShape(time: number, sections: readonly Section[]): number {
  const bar = Math.floor(time / BEATS_PER_BAR + 1e-9);
  const section = sections.find((s) => bar >= s.startBar && bar < s.startBar + s.bars);
  const phraseBeats = 4 * BEATS_PER_BAR;
  const into = (time - (section?.startBar ?? 0) * BEATS_PER_BAR) / phraseBeats;
  const p = into - Math.floor(into);
  return p < 0.75 ? 0.92 + (0.12 * p) / 0.75 : 1.04 - (0.08 * (p - 0.75)) / 0.25;
}

/**
 * The arrangement played with a groove: every time moved by `grooveTime`, then humanised by up to
 * `humanizeSec` either way (one draw per onset and part, so a chord's notes stay together; never
 * before the start), and every velocity scaled by the step's accent and the phrase's shape.
 */
export function applyGroove(a: Arrangement, groove: Groove, rng: Rng): Arrangement {
  const humanizeBeats = (groove.humanizeSec * a.bpm) / 60;
  const play = <T extends { time: number; velocity: number; duration?: number }>(notes: T[], part: string): T[] => {
    const draws = rng.fork(part);
    const nudges = new Map<number, number>();
    return notes.map((n) => {
      let nudge = nudges.get(n.time);
      if (nudge === undefined) {
        nudge = (2 * draws.next() - 1) * humanizeBeats;
        nudges.set(n.time, nudge);
      }
      const time = Math.max(0, grooveTime(groove, n.time) + nudge);
      const velocity = Math.min(
        1,
        Math.max(0.05, n.velocity * (groove.accents[stepOf(n.time)] as number) * phraseShape(n.time, a.sections)),
      );
      if (n.duration === undefined) return { ...n, time, velocity };
      const duration = grooveTime(groove, n.time + n.duration) - grooveTime(groove, n.time);
      return { ...n, time, duration, velocity };
    });
  };
  return {
    ...a,
    groove,
    drums: play(a.drums, 'drums'),
    bass: play(a.bass, 'bass'),
    chords: play(a.chords, 'chords'),
    lead: play(a.lead, 'lead'),
  };
}
