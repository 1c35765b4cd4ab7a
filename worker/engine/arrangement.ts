import type { Genre } from '../../src/music/genres.js';
import type { MusicalKey } from '../../src/music/keys.js';

export type DrumName = 'kick' | 'snare' | 'clap' | 'hat' | 'openhat' | 'perc';
export type PartName = 'drums' | 'bass' | 'chords' | 'lead';
export const PARTS: readonly PartName[] = ['drums', 'bass', 'chords', 'lead'];
export const BEATS_PER_BAR = 4;

/** Times and durations are in beats (quarter notes) from the start. */
export interface Note {
  time: number;
  duration: number;
  midi: number;
  velocity: number;
}

export interface DrumHit {
  time: number;
  drum: DrumName;
  velocity: number;
}

export interface Section {
  name: 'intro' | 'main' | 'break' | 'outro';
  startBar: number;
  bars: number;
  /** 0..1: how much plays. */
  energy: number;
}

/** How the arrangement is played against the grid (groove.ts): one per render, the same for every part. */
export interface Groove {
  /** Its feel's name (groove.ts FEELS). */
  feel: string;
  /** Swing: the delay of an off-beat 16th, in beats (an off-beat 8th is delayed twice as much). */
  swing: number;
  /** The shift of each 16th step of a bar, in beats (late > 0): the swing plus the feel's micro-timing; 0 on the downbeat. */
  offsets: number[];
  /** Velocity factor of each 16th step of a bar. */
  accents: number[];
  /** Timing humanisation, at most this many seconds early or late, per onset and part. */
  humanizeSec: number;
}

export interface Arrangement {
  genre: Genre;
  bpm: number;
  key: MusicalKey;
  mood: string;
  seed: number;
  /** The length asked for: the render is `bars` whole bars, the fewest that last this long. */
  durationSec: number;
  bars: number;
  sections: Section[];
  /** Chord per bar, as scale degrees of its root. */
  progression: number[];
  /** Every time below is where the groove puts it: off the 16th grid by its offsets and humanisation. */
  groove: Groove;
  drums: DrumHit[];
  bass: Note[];
  chords: Note[];
  lead: Note[];
}
