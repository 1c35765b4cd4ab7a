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
  drums: DrumHit[];
  bass: Note[];
  chords: Note[];
  lead: Note[];
}
