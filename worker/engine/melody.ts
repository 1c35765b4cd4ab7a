/**
 * The lead: melodies in phrases of four bars (eight where a chord lasts two), a question of half the
 * phrase and its answer. The answer opens with the question's rhythm and closes on the phrase's
 * longest note. The pitch follows a contour: the question rises to a peak and stops on an open
 * degree (the 2nd or the 5th); the answer falls towards the tonic (or its third or octave), and its
 * long note lands on a tone of the bar's chord. A section's next phrase keeps the rhythm and moves the
 * contour. Strong beats land on a tone of the bar's chord, the notes between on the scale.
 */
import type { MusicalKey } from '../../src/music/keys.js';
import { degreeToMidi } from '../../src/music/theory.js';
import type { Chord, Note, Section } from './arrangement.js';
import { pitchOver } from './harmony.js';
import { humanize, type Rng } from './rng.js';
import type { Style } from './styles.js';

interface Onset {
  /** 16th step in the bar. */
  step: number;
  /** 16ths. */
  length: number;
}

/** A bar's rhythm: about `density` notes, on 8ths mostly, the downbeat always. */
function rhythm(density: number, rng: Rng): Onset[] {
  const count = Math.max(1, Math.min(8, Math.round(density + rng.next() * 2 - 1)));
  const steps = new Set<number>([0]);
  while (steps.size < count) steps.add(rng.chance(0.7) ? rng.int(0, 7) * 2 : rng.int(0, 15));
  const sorted = [...steps].sort((a, b) => a - b);
  return sorted.map((step, i) => ({ step, length: Math.max(1, Math.min(4, (sorted[i + 1] ?? 16) - step)) }));
}

/** A cadence bar: two or three notes, then the phrase's longest, from beat 2 or 3 to the bar's end. */
function cadence(rng: Rng): Onset[] {
  return rng.chance(0.5)
    ? [
        { step: 0, length: 4 },
        { step: 6, length: 2 },
        { step: 8, length: 8 },
      ]
    : [
        { step: 0, length: 2 },
        { step: 2, length: 2 },
        { step: 4, length: 12 },
      ];
}

/** The contour: waypoints (position 0..1 in the phrase → scale degree from the tonic), straight lines between. */
type Contour = [number, number][];

function contourAt(contour: Contour, x: number): number {
  for (let i = 1; i < contour.length; i++) {
    const [x1, y1] = contour[i] as [number, number];
    const [x0, y0] = contour[i - 1] as [number, number];
    if (x <= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0 || 1);
  }
  return (contour[contour.length - 1] as [number, number])[1];
}

/** Question: up from the start to a peak, ending open (the 2nd or the 5th); answer: back down to the tonic. */
function makeContour(rng: Rng, lift: number): Contour {
  const start = rng.pick([0, 2, 4]);
  const peak = start + rng.int(3, 5) + lift;
  const open = rng.pick([1, 4]);
  return [
    [0, start],
    [0.3, peak],
    [0.45, open],
    [0.5, start + 1],
    [0.75, Math.max(open, start + 2)],
    [1, rng.pick([0, 0, 2, 7])],
  ];
}

const mod7 = (d: number) => ((d % 7) + 7) % 7;

/** The scale degree nearest `target` that is a tone of the chord (root, third, fifth). */
function chordToneNear(target: number, chord: Chord): number {
  const tones = new Set([0, 2, 4].map((i) => mod7(chord.root + i)));
  for (let d = 0; d < 4; d++) {
    if (tones.has(mod7(target - d))) return target - d;
    if (tones.has(mod7(target + d))) return target + d;
  }
  return target;
}

export function composeLead(
  style: Style,
  key: MusicalKey,
  harmony: readonly Chord[],
  sections: readonly Section[],
  barsPerChord: number,
  rng: Rng,
): Note[] {
  const phraseBars = 4 * barsPerChord;
  // The tonic between E4 and D#5, so that the line's range (a 3rd below to a 10th above) stays in the lead's register.
  const octave = degreeToMidi(key, 0, 4) >= 64 ? 4 : 5;
  // One rhythm per render: bars of the question, then the answer opening like the question.
  const a = rhythm(style.leadDensity, rng);
  const b = rhythm(style.leadDensity, rng);
  const close = cadence(rng);
  const contours = [makeContour(rng, 0), makeContour(rng, rng.pick([1, 2, -1]))];
  const notes: Note[] = [];
  for (const section of sections) {
    if (section.name === 'intro' || section.name === 'outro') continue;
    for (let barInSection = 0; barInSection < section.bars; barInSection++) {
      const bar = section.startBar + barInSection;
      const inPhrase = barInSection % phraseBars;
      const phrase = Math.floor(barInSection / phraseBars);
      const contour = contours[phrase % 2] as Contour;
      const onsets = inPhrase === phraseBars - 1 ? close : inPhrase % 2 === 1 ? b : a;
      const chord = harmony[bar] as Chord;
      let previous: number | undefined;
      for (const [i, o] of onsets.entries()) {
        // The break plays the melody's skeleton: the notes on beats, held.
        if (section.name === 'break' && o.step % 4 !== 0) continue;
        const x = (inPhrase + o.step / 16) / phraseBars;
        const target = Math.round(contourAt(contour, x));
        let degree = o.step % 4 === 0 ? chordToneNear(target, chord) : target;
        // No leaps wider than a sixth inside a bar, and no note repeated more than once in a row.
        if (previous !== undefined && Math.abs(degree - previous) > 5) degree = previous + Math.sign(degree - previous) * 2;
        if (previous !== undefined && degree === previous && i % 2 === 1) degree += rng.pick([1, -1]);
        previous = degree;
        const midi = pitchOver(key, chord, degree, octave);
        const height = (target - 2) / 8;
        notes.push({
          time: bar * 4 + o.step / 4,
          duration: (section.name === 'break' ? Math.max(o.length, 4) : o.length) / 4,
          midi: midi > 91 ? midi - 12 : midi < 57 ? midi + 12 : midi,
          velocity: humanize(0.7 * (0.6 + 0.4 * section.energy) * (0.92 + 0.12 * Math.max(0, Math.min(1, height))), rng),
        });
      }
    }
  }
  return notes;
}
