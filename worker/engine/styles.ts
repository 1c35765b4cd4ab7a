/**
 * What each genre sounds like to the composer: its drum lines (16 steps a bar, a digit is a
 * velocity 1..9; each drum has alternatives and a render picks one of each), its fills, swing, the
 * bass's rhythm cells, how the chords and lead move, and the timbres the renderer uses. The idiom of
 * each genre is written out in docs/sound.md ("Genre idiom").
 */
import type { Genre } from '../../src/music/genres.js';
import type { DrumName, PartName } from './arrangement.js';

export type BassStyle = 'roots' | 'offbeat' | 'pulse' | 'reese' | 'slide' | 'drone' | 'eighths';
export type ChordStyle = 'pad' | 'keys' | 'stabs' | 'swell';
export type Timbre = 'sine' | 'triangle' | 'square' | 'saw';
/** Fills (drums.ts FILLS). */
export type FillName = 'run' | 'sixteenths' | 'kickSnare' | 'flam' | 'toms' | 'triplets' | 'stop';

export interface Style {
  /** Each drum's alternative lines (the first is the classic); a render picks one per drum. */
  drums: Partial<Record<DrumName, string[]>>;
  /** Lines for a genre whose drums play only when the mood asks for them (ambient). */
  drumsWhenAsked?: Partial<Record<DrumName, string[]>>;
  /** The fills it uses at the end of a section or phrase. */
  fills: FillName[];
  /** Delay of off-beat 16ths, as a fraction of a 16th. */
  swing: number;
  /** Hat rolls now and then: 32nd notes and triplets with a pitch ramp (trap). */
  hatRolls: boolean;
  /** A build (snare roll, riser, the chords' filter opening) ends the break, and a crash marks the drop. */
  drop: boolean;
  bass: BassStyle;
  /**
   * The bass's one-bar rhythm cells (bassline.ts): 16 steps, a note's role (R root, 3 third, 5 fifth,
   * 7 seventh, 8 octave, p passing note towards the next chord, a approach from a step below it),
   * '-' holding the note before, '.' a rest.
   */
  bassCells: string[];
  chords: ChordStyle;
  /** Bars each chord lasts (fast genres hold a chord two bars), and so half a melodic phrase's length. */
  barsPerChord: 1 | 2;
  /** Which rhythms short chords are played in (composer.ts CHORD_RHYTHMS). */
  chordRhythm: 'keys' | 'stabs' | 'offbeat';
  /** The chords' filter opens and closes over eight bars (house, techno). */
  chordMotion: boolean;
  sevenths: boolean;
  /** Notes per bar of the lead, roughly. */
  leadDensity: number;
  leadTimbre: Timbre;
  bassTimbre: Timbre;
  chordTimbre: Timbre;
  /** Low-pass the tonal parts (lo-fi warmth), Hz, and the drums an octave higher; 0 = off. */
  warmth: number;
  /** Vinyl: crackle under the drums, wow and flutter on the chords and lead (lo-fi). */
  vinyl: boolean;
  reverb: number;
  /** The kick's decay time constant, seconds. */
  kickDecay: number;
  /** Each part's level in the mix, dB (the master then sets the loudness): see docs/sound.md. */
  levels: Record<PartName, number>;
}

export const STYLES: Record<Genre, Style> = {
  lofi: {
    drums: {
      kick: ['9000000090500000', '9000000000905000', '9000005090000000', '9000000090000500', '9000000000900050'],
      snare: ['0000900000009000', '0000900000009003', '0000900300009000', '0000900000009020'],
      hat: ['9060906090609060', '9060906090609070', '9000900090009000', '9060906090609066'],
    },
    fills: ['kickSnare', 'flam', 'stop', 'run'],
    swing: 0.55,
    hatRolls: false,
    drop: false,
    bass: 'roots',
    bassCells: [
      'R-----..R-----a-',
      'R-----R-5-----a-',
      'R-----R-R-----5-',
      'R---------8-5---',
      'R---..R---3-----',
      'R-----..5---R-a-',
      'R-.R--..R-----8-',
    ],
    chords: 'keys',
    barsPerChord: 1,
    chordRhythm: 'keys',
    chordMotion: false,
    sevenths: true,
    leadDensity: 3,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'square',
    warmth: 8000,
    vinyl: true,
    reverb: 0.35,
    kickDecay: 0.1,
    levels: { drums: -5.5, bass: -12, chords: -8, lead: -7 },
  },
  hiphop: {
    drums: {
      kick: ['9000000590090000', '9000005090000000', '9000000090090000', '9000000500900050', '9000000000090000'],
      snare: ['0000900000009000', '0000900300009000', '0000900000009030'],
      hat: ['6060606060606060', '6060606060606066', '6464646464646464', '6000600060006000'],
      perc: ['0000000000000000', '0000000000000300', '0030000000000000'],
    },
    fills: ['kickSnare', 'flam', 'stop', 'sixteenths'],
    swing: 0.35,
    hatRolls: false,
    drop: false,
    bass: 'roots',
    bassCells: [
      'R-----..R-----a-',
      'R-----R-5-----a-',
      'R---------8-5---',
      'R-----..5---R-a-',
      'R-.R--..R-----8-',
      'R-------R-R---a-',
    ],
    chords: 'stabs',
    barsPerChord: 1,
    chordRhythm: 'stabs',
    chordMotion: false,
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 9000,
    vinyl: false,
    reverb: 0.2,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -13.5, chords: -6, lead: -7 },
  },
  trap: {
    drums: {
      kick: ['9000000000900000', '9000000900000090', '9000000000009000', '9000000000900090', '9000009000000000'],
      snare: ['0000000090000000'],
      clap: ['0000000090000000'],
      hat: ['6363636363636363', '6060606060606060', '6363636063636360', '6366636363666363'],
      openhat: ['0000000000000000', '0000000000000050', '0000005000000000'],
    },
    fills: ['triplets', 'run', 'stop'],
    swing: 0,
    hatRolls: true,
    drop: true,
    bass: 'slide',
    bassCells: [
      'R-------R-----8-',
      'R---------5-----',
      'R-----R-------a-',
      'R-------------8-',
      'R-------8---R---',
      'R-----8-----R---',
    ],
    chords: 'pad',
    barsPerChord: 2,
    chordRhythm: 'stabs',
    chordMotion: false,
    sevenths: false,
    leadDensity: 5,
    leadTimbre: 'square',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 0,
    vinyl: false,
    reverb: 0.25,
    kickDecay: 0.08,
    levels: { drums: -6, bass: -13, chords: -6, lead: -7 },
  },
  house: {
    drums: {
      kick: ['9000900090009000'],
      clap: ['0000900000009000', '0000900000009003', '0000900000009030'],
      hat: ['0050005000500050', '3050305030503050', '0060006000600060', '3353335333533353'],
      openhat: ['0000000000000000', '0050005000500050', '0000000000000050'],
      perc: ['0000000000000000', '0000003000000300', '0300000003000000'],
    },
    fills: ['run', 'sixteenths', 'flam'],
    swing: 0.1,
    hatRolls: false,
    drop: true,
    bass: 'offbeat',
    bassCells: [
      '..R-..R-..R-..R-',
      '..R-..8-..R-..5-',
      '..RR..R-..RR..R-',
      '..R-..R-..8-..a-',
      '..R-..R-..R-..RR',
      '..R-..R-..R-.8R-',
    ],
    chords: 'stabs',
    barsPerChord: 1,
    chordRhythm: 'offbeat',
    chordMotion: true,
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'saw',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    vinyl: false,
    reverb: 0.25,
    kickDecay: 0.1,
    levels: { drums: -7, bass: -10, chords: -5, lead: -6 },
  },
  techno: {
    drums: {
      kick: ['9000900090009000'],
      clap: ['0000000000009000', '0000900000009000', '0000000000000000'],
      hat: ['0070007000700070', '3373337333733373', '0070007000700077', '5353535353535353'],
      perc: ['0030000300300000', '0000300000030030', '0000000000000000', '3003003003003003'],
    },
    fills: ['run', 'sixteenths', 'stop'],
    swing: 0,
    hatRolls: false,
    drop: true,
    bass: 'pulse',
    bassCells: [
      '.RRR.RRR.RRR.RRR',
      '.R8R.R8R.R8R.R8R',
      '.RR8.RRR.RR8.RRR',
      '.RRR.RRR.R5R.RRR',
      '.R8R.RRR.R8R.RRR',
      '.R-R.R-R.R-R.R-R',
    ],
    chords: 'swell',
    barsPerChord: 2,
    chordRhythm: 'stabs',
    chordMotion: true,
    sevenths: false,
    leadDensity: 6,
    leadTimbre: 'saw',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    vinyl: false,
    reverb: 0.3,
    kickDecay: 0.085,
    levels: { drums: -6, bass: -9, chords: -6, lead: -7 },
  },
  dnb: {
    drums: {
      // A breakbeat: the kick on 1 and the "and" of 3, snares on 2 and 4 with ghost notes between.
      kick: ['9000000000900000', '9000000000090000', '9000000000900010', '9010000000900000', '9000000100900000'],
      snare: ['0000900000009000', '0000900200009020', '0020900000209002', '0000902000009200', '0000900000009005'],
      hat: ['7060706070607060', '7060706077607060', '7070707070707070', '7000700070007000'],
      openhat: ['0000000000000000', '0000000000000050'],
    },
    fills: ['run', 'toms', 'sixteenths', 'kickSnare'],
    swing: 0,
    hatRolls: false,
    drop: true,
    bass: 'reese',
    bassCells: [
      'R---------R-----',
      'R-------..R---a-',
      'R-----------5---',
      'R-------R-------',
      'R---------..8---',
      'R-----R---------',
    ],
    chords: 'pad',
    barsPerChord: 2,
    chordRhythm: 'stabs',
    chordMotion: false,
    sevenths: true,
    leadDensity: 4,
    leadTimbre: 'saw',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    vinyl: false,
    reverb: 0.3,
    kickDecay: 0.09,
    levels: { drums: -6, bass: -12, chords: -6, lead: -7 },
  },
  ambient: {
    drums: {},
    drumsWhenAsked: {
      kick: ['5000000000000000', '5000000050000000'],
      hat: ['0000300000003000', '0030003000300030'],
      perc: ['3000000000000000', '3000003000000000'],
    },
    fills: ['toms'],
    swing: 0,
    hatRolls: false,
    drop: false,
    bass: 'drone',
    bassCells: ['R---------------', 'R-------5-------', 'R-----------8---', 'R-------3-------', 'R-------R-------'],
    chords: 'swell',
    barsPerChord: 1,
    chordRhythm: 'stabs',
    chordMotion: false,
    sevenths: true,
    leadDensity: 1.5,
    leadTimbre: 'triangle',
    bassTimbre: 'sine',
    chordTimbre: 'saw',
    warmth: 13000,
    vinyl: false,
    reverb: 0.6,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -15, chords: -6, lead: -7 },
  },
  pop: {
    drums: {
      kick: ['9000000090000000', '9000000090100000', '9000000090009000', '9000009090000000', '9000000000900000'],
      snare: ['0000900000009000'],
      clap: ['0000900000009000', '0000900000009003', '0000000000000000'],
      hat: ['5050505050505050', '5050505050505055', '5555555555555555', '5353535353535353'],
    },
    fills: ['run', 'sixteenths', 'kickSnare', 'flam'],
    swing: 0,
    hatRolls: false,
    drop: true,
    bass: 'eighths',
    bassCells: [
      'R-R-R-R-R-R-R-p-',
      'R-R-R-R-R-R-5-p-',
      'R-R-R-R-8-R-R-p-',
      'R-R-R-R-R-R-a-a-',
      'R-R-R-5-R-R-3-p-',
      'R-R-R-R-R-R-p-a-',
    ],
    chords: 'keys',
    barsPerChord: 1,
    chordRhythm: 'keys',
    chordMotion: false,
    sevenths: false,
    leadDensity: 5,
    leadTimbre: 'square',
    bassTimbre: 'saw',
    chordTimbre: 'saw',
    warmth: 0,
    vinyl: false,
    reverb: 0.25,
    kickDecay: 0.1,
    levels: { drums: -6, bass: -9, chords: -6, lead: -7 },
  },
};

/** Moods that ask an ambient piece for drums. */
export const ASKS_FOR_DRUMS = /driving|energetic|upbeat|rhythmic|groov|beat|drums|dance/i;
