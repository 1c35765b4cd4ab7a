/**
 * What each genre sounds like to the composer: drum patterns (16 steps a bar,
 * a digit is a velocity 1..9), swing, how the bass, chords and lead move, and
 * the timbres the renderer uses.
 */
import type { Genre } from '../../src/music/genres.js';
import type { DrumName, PartName } from './arrangement.js';

export type BassStyle = 'roots' | 'offbeat' | 'pulse' | 'sub' | 'slide' | 'drone' | 'walking';
export type ChordStyle = 'pad' | 'keys' | 'stabs' | 'swell';
export type Timbre = 'sine' | 'triangle' | 'square' | 'saw';

export interface Style {
  /** Alternative bar patterns; the composer varies between them. */
  patterns: Partial<Record<DrumName, string>>[];
  /** Delay of off-beat 16ths, as a fraction of a 16th. */
  swing: number;
  /** Hats in 32nd-note rolls now and then (trap). */
  hatRolls: boolean;
  bass: BassStyle;
  chords: ChordStyle;
  sevenths: boolean;
  /** Notes per bar of the lead, roughly. */
  leadDensity: number;
  leadTimbre: Timbre;
  bassTimbre: Timbre;
  chordTimbre: Timbre;
  /** Low-pass the tonal parts (lo-fi warmth), Hz, and the drums an octave higher; 0 = off. */
  warmth: number;
  reverb: number;
  /** The kick's decay time constant, seconds. */
  kickDecay: number;
  /** Each part's level in the mix, dB (the master then sets the loudness): see docs/sound.md. */
  levels: Record<PartName, number>;
}

const P = (kick: string, snare: string, hat: string, extra: Partial<Record<DrumName, string>> = {}) => ({
  kick,
  snare,
  hat,
  ...extra,
});

export const STYLES: Record<Genre, Style> = {
  lofi: {
    patterns: [
      P('9000000090500000', '0000900000009000', '9060906090609060'),
      P('9000000000905000', '0000900000009003', '9060906090609070'),
    ],
    swing: 0.55,
    hatRolls: false,
    bass: 'roots',
    chords: 'keys',
    sevenths: true,
    leadDensity: 3,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'square',
    warmth: 8000,
    reverb: 0.35,
    kickDecay: 0.1,
    levels: { drums: -5.5, bass: -12, chords: -8, lead: -7 },
  },
  hiphop: {
    patterns: [
      P('9000000590090000', '0000900000009000', '6060606060606060'),
      P('9000005090000000', '0000900000009000', '6060606060606060', { perc: '0000000000000300' }),
    ],
    swing: 0.35,
    hatRolls: false,
    bass: 'roots',
    chords: 'stabs',
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 9000,
    reverb: 0.2,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -13.5, chords: -6, lead: -7 },
  },
  trap: {
    patterns: [
      P('9000000000900000', '0000000090000000', '6363636363636363', { clap: '0000000090000000' }),
      P('9000000900000090', '0000000090000000', '6363636363636363', { clap: '0000000090000000', openhat: '0000000000000050' }),
    ],
    swing: 0,
    hatRolls: true,
    bass: 'slide',
    chords: 'pad',
    sevenths: false,
    leadDensity: 5,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 0,
    reverb: 0.25,
    kickDecay: 0.08,
    levels: { drums: -6, bass: -13, chords: -6, lead: -7 },
  },
  house: {
    patterns: [
      P('9000900090009000', '0000000000000000', '0050005000500050', { clap: '0000900000009000', hat: '3050305030503050' }),
      P('9000900090009000', '0000000000000000', '0060006000600060', { clap: '0000900000009000', openhat: '0050005000500050' }),
    ],
    swing: 0.1,
    hatRolls: false,
    bass: 'offbeat',
    chords: 'stabs',
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'saw',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    reverb: 0.25,
    kickDecay: 0.1,
    levels: { drums: -7, bass: -10, chords: -5, lead: -6 },
  },
  techno: {
    patterns: [
      P('9000900090009000', '0000000000000000', '0070007000700070', { perc: '0030000300300000', clap: '0000000000009000' }),
      P('9000900090009000', '0000000000000000', '3373337333733373', { perc: '0000300000030030' }),
    ],
    swing: 0,
    hatRolls: false,
    bass: 'pulse',
    chords: 'swell',
    sevenths: false,
    leadDensity: 6,
    leadTimbre: 'saw',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    reverb: 0.3,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -9, chords: -6, lead: -7 },
  },
  dnb: {
    patterns: [
      P('9000000000900000', '0000900000009000', '7060706070607060'),
      P('9000000000090000', '0000900000009005', '7060706077607060'),
    ],
    swing: 0,
    hatRolls: false,
    bass: 'sub',
    chords: 'pad',
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'saw',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 0,
    reverb: 0.3,
    kickDecay: 0.09,
    levels: { drums: -6, bass: -12, chords: -6, lead: -7 },
  },
  ambient: {
    patterns: [P('0000000000000000', '0000000000000000', '0000000000000000', { perc: '3000000000000000' })],
    swing: 0,
    hatRolls: false,
    bass: 'drone',
    chords: 'swell',
    sevenths: true,
    leadDensity: 1.5,
    leadTimbre: 'triangle',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 10000,
    reverb: 0.6,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -15, chords: -6, lead: -7 },
  },
  pop: {
    patterns: [
      P('9000000090000000', '0000900000009000', '5050505050505050', { clap: '0000900000009000' }),
      P('9000000090100000', '0000900000009000', '5050505050505055', { clap: '0000900000009000' }),
    ],
    swing: 0,
    hatRolls: false,
    bass: 'walking',
    chords: 'keys',
    sevenths: false,
    leadDensity: 5,
    leadTimbre: 'square',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    reverb: 0.25,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -9, chords: -6, lead: -7 },
  },
};

/** Chord roots (scale degrees, one per bar) by mood; the key's mode stays the user's. */
export function progressionsFor(mood: string, minor: boolean): number[][] {
  const m = mood.toLowerCase();
  if (/dark|aggressive|evil|tense/.test(m))
    return minor
      ? [
          [0, 5, 3, 4],
          [0, 0, 5, 4],
          [0, 3, 0, 4],
        ]
      : [
          [0, 3, 4, 3],
          [5, 3, 4, 4],
        ];
  if (/happy|uplifting|bright|energetic/.test(m))
    return minor
      ? [
          [0, 6, 5, 6],
          [5, 6, 0, 0],
          [0, 2, 6, 5],
        ]
      : [
          [0, 4, 5, 3],
          [0, 5, 3, 4],
          [3, 4, 0, 5],
        ];
  if (/sad|melanchol|emotional/.test(m))
    return minor
      ? [
          [0, 5, 2, 6],
          [0, 3, 5, 4],
        ]
      : [
          [5, 3, 0, 4],
          [0, 5, 3, 4],
        ];
  if (/dream|ambient|romantic/.test(m))
    return minor
      ? [
          [0, 5, 3, 6],
          [0, 2, 5, 6],
        ]
      : [
          [0, 3, 0, 4],
          [3, 0, 3, 4],
        ];
  // mellow, chill and anything else
  return minor
    ? [
        [0, 5, 2, 6],
        [0, 3, 6, 2],
        [0, 6, 5, 4],
      ]
    : [
        [0, 5, 1, 4],
        [0, 3, 1, 4],
        [0, 2, 3, 4],
      ];
}
