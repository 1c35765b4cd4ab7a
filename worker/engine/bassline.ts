/**
 * The bassline: two one-bar rhythm cells picked by seed from the genre's (styles.ts `bassCells`), the
 * first for most bars and the second for each phrase's last, their roles (root, third, fifth,
 * seventh, octave, a passing or approach note towards the next chord) read over the bar's chord.
 * Trap's 808 glides from a held note into the next: the pitch slides, the note is not struck again.
 */
import type { MusicalKey } from '../../src/music/keys.js';
import { degreeToMidi } from '../../src/music/theory.js';
import type { Chord, Note, Section } from './arrangement.js';
import { pitchOver } from './harmony.js';
import { humanize, type Rng } from './rng.js';
import type { Style } from './styles.js';

interface CellNote {
  step: number;
  steps: number;
  role: string;
}

/** A cell's notes: a role starts one, '-' holds it a 16th longer, '.' rests. */
export function parseCell(cell: string): CellNote[] {
  const notes: CellNote[] = [];
  for (const [step, c] of [...cell].entries()) {
    if (c === '.') continue;
    const last = notes[notes.length - 1];
    if (c === '-') {
      if (last && last.step + last.steps === step) last.steps++;
      continue;
    }
    notes.push({ step, steps: 1, role: c });
  }
  return notes;
}

/** `to` moved by octaves to lie within a fourth of `from` (scale degrees). */
function nearest(to: number, from: number): number {
  let d = to;
  while (d - from > 3) d -= 7;
  while (from - d > 3) d += 7;
  return d;
}

/** The scale degree a role plays over a chord whose next chord has root `next`. */
function degreeOf(role: string, root: number, next: number): number {
  switch (role) {
    case '3':
      return root + 2;
    case '5':
      return root + 4;
    case '7':
      return root + 6;
    case '8':
      return root + 7;
    case 'p': {
      const target = nearest(next, root);
      return target > root ? root + 1 : root - 1;
    }
    case 'a': {
      const target = nearest(next, root);
      return target === root ? root - 1 : target - 1;
    }
    default:
      return root;
  }
}

/** Where the bass plays: not in the intro but its last bar, not in the break, the outro's first half. */
function bassPlays(style: Style, section: Section, barInSection: number): boolean {
  if (style.bass === 'drone') return true;
  if (section.name === 'intro') return barInSection === section.bars - 1 && section.bars > 1;
  if (section.name === 'break') return false;
  if (section.name === 'outro') return barInSection < Math.ceil(section.bars / 2);
  return true;
}

const LOWEST = 28;

/** E1..D#2: the bass's tonic. */
function bassRoot(key: MusicalKey): number {
  const root = degreeToMidi(key, 0, 1);
  return root < LOWEST ? root + 12 : root;
}

export function composeBass(
  style: Style,
  key: MusicalKey,
  harmony: readonly Chord[],
  sections: readonly Section[],
  rng: Rng,
): Note[] {
  const [first, second] = [rng.pick(style.bassCells), rng.pick(style.bassCells)].map(parseCell) as [CellNote[], CellNote[]];
  const glides = style.bass === 'slide';
  const rootMidi = bassRoot(key);
  const tonic = degreeToMidi(key, 0, 4);
  const notes: Note[] = [];
  for (const section of sections) {
    for (let barInSection = 0; barInSection < section.bars; barInSection++) {
      if (!bassPlays(style, section, barInSection)) continue;
      const bar = section.startBar + barInSection;
      const chord = harmony[bar] as Chord;
      const next = (harmony[bar + 1] ?? harmony[0]) as Chord;
      const cell = barInSection % 4 === 3 ? second : first;
      const v = 0.75 + 0.25 * section.energy;
      for (const n of cell) {
        const pitch = rootMidi + pitchOver(key, chord, degreeOf(n.role, chord.root, next.root), 4) - tonic;
        // Nothing under E1, a bass guitar's lowest string (a step below a low root goes up an octave).
        const midi = pitch < LOWEST ? pitch + 12 : pitch;
        const prev = notes[notes.length - 1];
        const time = bar * 4 + n.step / 4;
        // An 808 note that follows a held one without a gap glides into its pitch.
        const legato = glides && prev && prev.midi !== midi && Math.abs(prev.time + prev.duration - time) < 1e-9;
        notes.push({
          time,
          duration: n.steps / 4 - (glides ? 0 : 0.05),
          midi,
          velocity: humanize(n.step % 2 === 0 ? v : v * 0.85, rng),
          ...(legato && { glideFrom: prev.midi }),
        });
      }
    }
  }
  return notes;
}
