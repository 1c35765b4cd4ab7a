/**
 * Tonal voices: each writes one note into a stereo buffer, band-limited (PolyBLEP) oscillators
 * through an envelope and a low-pass. Drums are in drum-synth.ts.
 */
import { midiToFrequency } from '../../src/music/theory.js';
import { type Stereo, SAMPLE_RATE, panGains } from './dsp.js';
import type { Timbre } from './styles.js';

const TWO_PI = 2 * Math.PI;

function polyBlep(t: number, dt: number): number {
  if (t < dt) {
    const x = t / dt;
    return x + x - x * x - 1;
  }
  if (t > 1 - dt) {
    const x = (t - 1) / dt;
    return x * x + x + x + 1;
  }
  return 0;
}

/** One sample of a band-limited oscillator at phase t (0..1) advancing dt per sample. */
function osc(timbre: Timbre, t: number, dt: number): number {
  switch (timbre) {
    case 'sine':
      return Math.sin(TWO_PI * t);
    case 'triangle':
      return 1 - 4 * Math.abs(t - 0.5);
    case 'saw':
      return 2 * t - 1 - polyBlep(t, dt);
    case 'square': {
      let v = t < 0.5 ? 1 : -1;
      v += polyBlep(t, dt);
      return v - polyBlep(t < 0.5 ? t + 0.5 : t - 0.5, dt);
    }
  }
}

/** tanh's shape at a fraction of its cost (a Padé approximant, exact at ±3 and flat beyond): drive for basses and the kick. */
export const softClip = (x: number) => (x >= 3 ? 1 : x <= -3 ? -1 : (x * (27 + x * x)) / (27 + 9 * x * x));

export interface ToneOptions {
  timbre: Timbre;
  attack: number;
  decay: number;
  sustain: number;
  release: number;
  /** One-pole low-pass cutoff, Hz. */
  cutoff: number;
  /** Second oscillator detune in cents (0 = single oscillator). */
  detune: number;
  pan: number;
  gain: number;
  /** Soft saturation amount (808s). */
  drive?: number;
  /** How long an 808 glide takes to reach its note, seconds. */
  glide?: number;
  /**
   * Start each note's oscillators at a phase set by its pitch rather than at zero. Notes sounding
   * together (a chord) otherwise start in step, and saws whose frequencies stand near whole ratios
   * stay in step: their resets add up to peaks 4–6 dB above the chord's level.
   */
  phaseByPitch?: boolean;
  /**
   * Stereo detune: 0 puts both oscillators in both channels; 1 puts the first on the left and the
   * detuned one on the right (a pad's width: they beat against each other differently on each side).
   */
  spread?: number;
}

/** What one note asks of its voice beyond pitch and length. */
export interface NoteShape {
  /**
   * Slides within the note (an 808's legato run, render.ts): at `atSec` from its start the pitch moves
   * to `midi`, evenly in semitones over the tone's `glide` seconds. The voice is not struck again.
   */
  slides?: { atSec: number; midi: number }[];
  /** Factor on the cutoff. */
  bright?: number;
}

/** The golden ratio's fraction: successive pitches' start phases as far apart as can be. */
const PHASE_STEP = 0.6180339887;

/** Writes one note starting at sample `start`, `lengthSec` long plus its release. */
export function renderTone(
  out: Stereo,
  start: number,
  lengthSec: number,
  midi: number,
  velocity: number,
  o: ToneOptions,
  shape: NoteShape = {},
): void {
  const total = Math.floor((lengthSec + o.release) * SAMPLE_RATE);
  const end = Math.min(out.left.length, start + total);
  const held = lengthSec * SAMPLE_RATE;
  const [gl, gr] = panGains(o.pan);
  const amp = o.gain * velocity;
  const cutoff = Math.min(18_000, o.cutoff * (shape.bright ?? 1));
  const lpA = 1 - Math.exp((-TWO_PI * cutoff) / SAMPLE_RATE);
  const sustain = o.sustain;
  const attackS = Math.max(1, o.attack * SAMPLE_RATE);
  const attackStep = 1 / attackS;
  const decayStep = (1 - sustain) / Math.max(1, o.decay * SAMPLE_RATE);
  const releaseStep = 1 / Math.max(1, o.release * SAMPLE_RATE);
  const baseDt = midiToFrequency(midi) / SAMPLE_RATE;
  const detuneRatio = 2 ** (o.detune / 1200);
  const pitch = pitchPath(midi, shape.slides ?? [], o.glide ?? 0.08);
  let dt1 = baseDt;
  const timbre = o.timbre;
  const detune = o.detune !== 0;
  const drive = o.drive ?? 0;
  const driveNorm = drive ? 1 / softClip(drive) : 1;
  const spread = detune ? (o.spread ?? 0) : 0;
  // Oscillator 1 to the left and 2 to the right by `spread` (their sum stays the same in mono).
  const w1 = 0.5 * (1 + spread);
  const w2 = 0.5 * (1 - spread);
  const L = out.left;
  const R = out.right;
  let p1 = o.phaseByPitch ? (midi * PHASE_STEP) % 1 : 0;
  let p2 = (p1 + 0.25) % 1;
  let lp = 0;
  let lp2 = 0;
  let envAtRelease = 0;
  for (let i = start; i < end; i++) {
    const n = i - start;
    let env: number;
    if (n < held) {
      env = n < attackS ? n * attackStep : Math.max(sustain, 1 - decayStep * (n - attackS));
      envAtRelease = env;
    } else {
      env = envAtRelease * (1 - (n - held) * releaseStep);
      if (env <= 0) break;
    }
    if (pitch) dt1 = baseDt * pitch(n);
    const v1 = osc(timbre, p1, dt1);
    p1 += dt1;
    if (p1 >= 1) p1 -= 1;
    let left: number;
    let right: number;
    if (!detune) {
      lp += lpA * (v1 - lp);
      left = lp;
      right = lp;
    } else {
      const dt2 = dt1 * detuneRatio;
      const v2 = osc(timbre, p2, dt2);
      p2 += dt2;
      if (p2 >= 1) p2 -= 1;
      lp += lpA * (w1 * v1 + w2 * v2 - lp);
      if (spread) {
        lp2 += lpA * (w2 * v1 + w1 * v2 - lp2);
        left = lp;
        right = lp2;
      } else {
        left = lp;
        right = lp;
      }
    }
    const g = env * amp;
    if (drive) {
      left = softClip(left * g * drive) * driveNorm;
      right = spread ? softClip(right * g * drive) * driveNorm : left;
    } else {
      left *= g;
      right *= g;
    }
    L[i] = (L[i] as number) + left * gl;
    R[i] = (R[i] as number) + right * gr;
  }
}

/**
 * The frequency ratio to the note's own pitch at each sample of a note that slides, or undefined for
 * one that does not: each slide moves from the pitch before to its own, linearly in semitones over
 * `glideSec`, from its start.
 */
function pitchPath(midi: number, slides: readonly { atSec: number; midi: number }[], glideSec: number) {
  if (slides.length === 0) return undefined;
  const glide = Math.max(1, glideSec * SAMPLE_RATE);
  const steps = slides.map((s, k) => {
    const from = (k === 0 ? midi : (slides[k - 1] as { midi: number }).midi) - midi;
    const to = s.midi - midi;
    return { at: s.atSec * SAMPLE_RATE, from, to, settled: 2 ** (to / 12) };
  });
  let k = -1;
  return (n: number): number => {
    while (k + 1 < steps.length && n >= (steps[k + 1] as { at: number }).at) k++;
    if (k < 0) return 1;
    const step = steps[k] as (typeof steps)[number];
    const x = (n - step.at) / glide;
    return x >= 1 ? step.settled : 2 ** ((step.from + (step.to - step.from) * x) / 12);
  };
}
