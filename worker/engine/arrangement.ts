import type { Genre } from '../../src/music/genres.js';
import type { MusicalKey } from '../../src/music/keys.js';

export type DrumName = 'kick' | 'snare' | 'clap' | 'hat' | 'openhat' | 'perc' | 'crash' | 'riser';
export type PartName = 'drums' | 'bass' | 'chords' | 'lead';
export const PARTS: readonly PartName[] = ['drums', 'bass', 'chords', 'lead'];
export const BEATS_PER_BAR = 4;

/** Times and durations are in beats (quarter notes) from the start. */
export interface Note {
  time: number;
  duration: number;
  midi: number;
  velocity: number;
  /**
   * The pitch of the held note it follows without a gap (an 808 glide): the renderer slides that
   * voice on to `midi` instead of striking a new one (render.ts `legatoRuns`).
   */
  glideFrom?: number;
  /** Its low-pass opened by this factor (house and techno chords' filter movement); 1 when absent. */
  bright?: number;
}

export interface DrumHit {
  time: number;
  drum: DrumName;
  velocity: number;
  /** Tuned up (> 0) or down, semitones: a roll's pitch ramp, a fill's toms. */
  pitch?: number;
  /** How long it sounds, beats (a riser); the drum's own length when absent. */
  duration?: number;
  /** Stereo position, −1..1 (hats alternate sides); the drum's own when absent. */
  pan?: number;
}

/** A chord: its root as a scale degree, its notes from the key, or from the parallel mode when borrowed. */
export interface Chord {
  root: number;
  borrowed?: boolean;
}

/** The sound chosen per seed (palette.ts): kit, filter, envelope and detune. */
export interface Palette {
  /** The kick's body, Hz (where its sweep ends). */
  kickHz: number;
  /** The snare's body, Hz. */
  snareHz: number;
  /** The hats' tuning, semitones (their filters moved up or down). */
  hatPitch: number;
  /** Factor on the tonal parts' low-pass cutoffs. */
  filter: number;
  /** Factor on the chords' and lead's attack and release. */
  envelope: number;
  /** Cents between the chords' two oscillators. */
  detune: number;
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
  /** Chord root per bar, as scale degrees (`harmony`'s roots). */
  progression: number[];
  /** Chord per bar. */
  harmony: Chord[];
  palette: Palette;
  /** A record's crackle, wow and flutter on the render (lo-fi; vinyl.ts). */
  vinyl: boolean;
  /** Every time below is where the groove puts it: off the 16th grid by its offsets and humanisation. */
  groove: Groove;
  /** Builds before a drop (a riser, a snare roll, the chords' filter opening), in beats. */
  builds: { startBeat: number; endBeat: number }[];
  drums: DrumHit[];
  bass: Note[];
  chords: Note[];
  lead: Note[];
}
