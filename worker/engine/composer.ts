/**
 * (genre, bpm, key, mood, duration, seed) → an arrangement: sections, a chord
 * progression chosen by mood, drums per genre with fills and variation, a
 * bassline on the harmony, and a lead built from a motif that repeats and
 * varies, all written on the 16th grid and then played with one groove
 * (groove.ts). Every pitch comes from the key's scale (in minor, harmonic minor
 * over V); the same input and seed give the same arrangement.
 */
import type { Genre } from '../../src/music/genres.js';
import type { MusicalKey } from '../../src/music/keys.js';
import { chordDegrees, degreeOverChord, degreeToMidi } from '../../src/music/theory.js';
import { type Arrangement, BEATS_PER_BAR, type DrumHit, type DrumName, type Note, type Section } from './arrangement.js';
import { applyGroove, grooveFor, STRAIGHT } from './groove.js';
import { chordsOfBars } from './harmony.js';
import { Rng } from './rng.js';
import { progressionsFor, STYLES, type Style } from './styles.js';

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
  const choices = progressionsFor(input.mood, input.key.mode === 'minor');
  const base = rng.fork('progression').pick(choices);
  // Fast genres hold each chord for two bars.
  const barsPerChord = ['dnb', 'trap', 'techno'].includes(input.genre) ? 2 : 1;
  const progression = chordsOfBars(base, sections, barsPerChord, input.key);
  const sectionOf = (bar: number) => sections.find((s) => bar >= s.startBar && bar < s.startBar + s.bars) as Section;
  return {
    ...input,
    bars,
    sections,
    progression,
    groove: STRAIGHT,
    drums: composeDrums(style, bars, sectionOf, rng.fork('drums')),
    bass: composeBass(style, input.key, progression, sectionOf, rng.fork('bass')),
    chords: composeChords(style, input.key, progression, sectionOf, rng.fork('chords')),
    lead: composeLead(style, input.key, progression, sectionOf, rng.fork('lead')),
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

function composeDrums(style: Style, bars: number, sectionOf: (bar: number) => Section, rng: Rng): DrumHit[] {
  const hits: DrumHit[] = [];
  for (let bar = 0; bar < bars; bar++) {
    const section = sectionOf(bar);
    const barInSection = bar - section.startBar;
    const lastOfSection = barInSection === section.bars - 1 && bar < bars - 1;
    const pattern = barInSection % 4 === 3 || rng.chance(0.2) ? (style.patterns[1] ?? style.patterns[0]) : style.patterns[0];
    for (const [drum, steps] of Object.entries(pattern ?? {}) as [DrumName, string][]) {
      if (!playsIn(drum, section)) continue;
      for (let step = 0; step < 16; step++) {
        const level = Number(steps[step]);
        if (!level) continue;
        if (lastOfSection && step >= 12 && drum !== 'kick' && drum !== 'hat') continue; // room for the fill
        hits.push({
          time: bar * 4 + step / 4,
          drum,
          velocity: humanize((level / 9) * (0.6 + 0.4 * section.energy), rng),
        });
      }
    }
    if (style.hatRolls && section.energy > 0.8 && rng.chance(0.5)) {
      const beat = rng.int(1, 3);
      for (let i = 0; i < 6; i++)
        hits.push({ time: bar * 4 + beat + i / 6, drum: 'hat', velocity: humanize(0.35 + i * 0.05, rng) });
    }
    if (lastOfSection && section.energy > 0.4) {
      const fillDrum: DrumName = style.patterns[0]?.snare?.includes('9') ? 'snare' : 'clap';
      for (let i = 0; i < 4; i++)
        hits.push({ time: bar * 4 + 3 + i / 4, drum: fillDrum, velocity: humanize(0.45 + i * 0.15, rng) });
    }
  }
  return hits.sort((a, b) => a.time - b.time);
}

function playsIn(drum: DrumName, section: Section): boolean {
  if (section.name === 'break') return drum === 'hat' || drum === 'perc';
  if (section.name === 'intro') return drum !== 'snare' && drum !== 'clap';
  return true;
}

function humanize(v: number, rng: Rng): number {
  return Math.min(1, Math.max(0.05, v * (0.93 + rng.next() * 0.1)));
}

function bassRoot(key: MusicalKey): number {
  const root = degreeToMidi(key, 0, 1);
  return root < 28 ? root + 12 : root; // E1..D#2
}

function composeBass(
  style: Style,
  key: MusicalKey,
  progression: number[],
  sectionOf: (bar: number) => Section,
  rng: Rng,
): Note[] {
  const notes: Note[] = [];
  const rootMidi = bassRoot(key);
  const tonic = degreeToMidi(key, 0, 4);
  progression.forEach((chord, bar) => {
    const at = (degree: number) => rootMidi + degreeOverChord(key, chord, degree, 4) - tonic;
    const section = sectionOf(bar);
    if (section.name === 'intro' && style.bass !== 'drone' && bar < section.bars - 1) return;
    const v = 0.75 + 0.25 * section.energy;
    const t = bar * 4;
    const add = (time: number, duration: number, degree: number, vel = v) => {
      notes.push({ time: t + time, duration, midi: at(degree), velocity: humanize(vel, rng) });
    };
    switch (style.bass) {
      case 'roots':
        add(0, 1.5, chord);
        add(2, 1, rng.chance(0.3) ? chord + 4 : chord);
        if (rng.chance(0.4)) add(3.5, 0.5, chord + rng.pick([1, -1, 2]), v * 0.8);
        break;
      case 'offbeat':
        for (const beat of [0.5, 1.5, 2.5, 3.5]) add(beat, 0.4, beat === 3.5 && rng.chance(0.3) ? chord + 7 : chord);
        break;
      case 'pulse':
        for (let s = 0; s < 16; s++) if (s % 4 !== 0) add(s / 4, 0.2, chord, s % 4 === 2 ? v : v * 0.7);
        break;
      case 'sub':
        add(0, 2.5, chord);
        add(2.75, 1.1, rng.chance(0.5) ? chord : chord + 4);
        break;
      case 'slide':
        add(0, 2.4, chord);
        add(2.5, 1.4, rng.chance(0.35) ? chord + 7 : chord);
        break;
      case 'drone':
        add(0, 4, chord, 0.6);
        break;
      case 'walking':
        for (const [beat, d] of [0, 2, 4, rng.pick([5, 3, 1])].entries()) add(beat, 0.9, chord + d);
        break;
    }
  });
  return notes;
}

function composeChords(
  style: Style,
  key: MusicalKey,
  progression: number[],
  sectionOf: (bar: number) => Section,
  rng: Rng,
): Note[] {
  const notes: Note[] = [];
  progression.forEach((chord, bar) => {
    const section = sectionOf(bar);
    const v = 0.5 + 0.3 * section.energy;
    const degrees = chordDegrees(chord, style.sevenths ? 4 : 3);
    // Voice around G3..G4: lift the whole chord an octave when its root is low.
    const octave = degreeToMidi(key, chord, 3) < 52 ? 4 : 3;
    const pitches = degrees.map((d) => degreeOverChord(key, chord, d, octave));
    const t = bar * 4;
    const hit = (time: number, duration: number, strum = 0) => {
      for (const [i, midi] of pitches.entries())
        notes.push({ time: t + time + i * strum, duration, midi, velocity: humanize(v, rng) });
    };
    const style_ = section.name === 'break' ? 'pad' : style.chords;
    if (style_ === 'pad' || style_ === 'swell') hit(0, 4);
    else if (style_ === 'keys') {
      hit(0, 1.5, 0.02);
      hit(2.5, 1.25, 0.02);
    } else {
      const hits = style.bass === 'offbeat' ? [0.5, 1.5, 2.5, 3.5] : [0, 1.5, 2.5];
      for (const h of hits) hit(h, 0.3);
    }
  });
  return notes;
}

/** A one-bar motif (16th-grid rhythm, scale-degree contour) that repeats over the chords and varies. */
function composeLead(
  style: Style,
  key: MusicalKey,
  progression: number[],
  sectionOf: (bar: number) => Section,
  rng: Rng,
): Note[] {
  const motif = makeMotif(style.leadDensity, rng);
  const answer = makeMotif(style.leadDensity, rng);
  const notes: Note[] = [];
  progression.forEach((chord, bar) => {
    const section = sectionOf(bar);
    if (section.name === 'intro' || section.name === 'outro') return;
    const barInSection = bar - section.startBar;
    const phrase = barInSection % 4 === 3 ? vary(answer, rng) : barInSection % 2 === 1 ? vary(motif, rng) : motif;
    for (const [i, n] of phrase.entries()) {
      if (section.name === 'break' && i % 2 === 1) continue;
      const midi = degreeOverChord(key, chord, chord + n.degree, 5);
      notes.push({
        time: bar * 4 + n.step / 4,
        duration: n.length / 4,
        midi: midi > 88 ? midi - 12 : midi,
        velocity: humanize(0.7 * (0.6 + 0.4 * section.energy), rng),
      });
    }
  });
  return notes;
}

interface MotifNote {
  step: number;
  length: number;
  degree: number;
}

function makeMotif(density: number, rng: Rng): MotifNote[] {
  const count = Math.max(1, Math.min(8, Math.round(density + rng.next() * 2 - 1)));
  const steps = new Set<number>([0]);
  while (steps.size < count) steps.add(rng.chance(0.7) ? rng.int(0, 7) * 2 : rng.int(0, 15));
  const sorted = [...steps].sort((a, b) => a - b);
  let degree = rng.pick([0, 2, 4]);
  return sorted.map((step, i) => {
    if (i > 0) degree = Math.max(-2, Math.min(7, degree + rng.pick([-2, -1, -1, 1, 1, 2, 0])));
    const next = sorted[i + 1] ?? 16;
    return { step, length: Math.max(1, Math.min(4, next - step)), degree };
  });
}

function vary(motif: MotifNote[], rng: Rng): MotifNote[] {
  return motif.map((n, i) => (i >= motif.length / 2 ? { ...n, degree: n.degree + rng.pick([-1, 1, 2, 0]) } : n));
}
