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

/** One note for renderTones: from sample `start`, `lengthSec` long plus its release, on `tone`. */
export interface ToneNote {
  start: number;
  lengthSec: number;
  midi: number;
  velocity: number;
  tone: ToneOptions;
  shape?: NoteShape;
}

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
  renderTones(out, [{ start, lengthSec, midi, velocity, tone: o, shape }]);
}

/**
 * The most samples of oscillator signal (per side) a render keeps for notes to share: 3 M, 24 MiB
 * per side at 8 bytes (a pad's nine pitches over a 300 s render are about 1.3 M, its two sides
 * 21 MiB). A pitch that would go over it is computed for each of its notes, as one played once is.
 */
const SHARED_SAMPLES = 3_000_000;

/**
 * Writes notes into `out`, in order. A note's oscillators and low-pass, before its envelope, velocity
 * and pan, depend only on its voice and pitch: they start at the same phase wherever the note starts.
 * So a pitch played again on a voice with the same oscillators reuses that signal, computed once as
 * long as its longest note, and only the envelope is applied per note: a chord part plays each of
 * its few pitches tens of times (2-7× fewer samples to compute in a 30 s render, more in a longer
 * one). The samples are those of computing each note alone, bit for bit. A pitch's signal is kept
 * from its first note to its last and within SHARED_SAMPLES; a note that slides, a pitch played once
 * or one over that budget is computed for the note alone.
 */
export function renderTones(out: Stereo, notes: readonly ToneNote[]): void {
  // Each note's sharable signal: its key, the samples it plays at most, and the key's last note.
  const keys = notes.map((n) => (n.shape?.slides?.length ? null : sourceKey(n)));
  const need = new Map<string, { samples: number; last: number; uses: number }>();
  notes.forEach((n, i) => {
    const key = keys[i];
    if (key === null || key === undefined) return;
    const samples = playedSamples(out, n);
    const seen = need.get(key);
    if (seen) {
      seen.samples = Math.max(seen.samples, samples);
      seen.last = i;
      seen.uses++;
    } else need.set(key, { samples, last: i, uses: 1 });
  });
  const shared = new Map<string, ToneSource>();
  let held = 0;
  let scratch: ToneSource | undefined;
  notes.forEach((n, i) => {
    const key = keys[i];
    const plan = key ? need.get(key) : undefined;
    let source = key ? shared.get(key) : undefined;
    if (!source && key && plan && plan.uses > 1 && held + plan.samples <= SHARED_SAMPLES) {
      source = toneSource(n, plan.samples);
      shared.set(key, source);
      held += plan.samples;
    }
    if (!source) source = scratch = toneSource(n, playedSamples(out, n), scratch);
    playTone(out, n, source, playedSamples(out, n));
    if (key && plan?.last === i && shared.delete(key)) held -= plan.samples;
  });
}

/** What a note's oscillators and low-pass give before its envelope: the left (or only) and right side. */
interface ToneSource {
  left: Float64Array;
  right: Float64Array | null;
}

/** How many samples of `out` a note can write to: its length plus release, up to the buffer's end. */
function playedSamples(out: Stereo, n: ToneNote): number {
  const total = Math.floor((n.lengthSec + n.tone.release) * SAMPLE_RATE);
  return Math.max(0, Math.min(out.left.length, n.start + total) - n.start);
}

/** What decides a note's oscillator signal (sliding notes aside): its voice's oscillators, cutoff and pitch. */
function sourceKey({ tone: o, midi, shape }: ToneNote): string {
  const spread = o.detune !== 0 ? (o.spread ?? 0) : 0;
  return `${o.timbre} ${cutoffOf(o, shape)} ${o.detune} ${spread} ${o.phaseByPitch ? 1 : 0} ${midi}`;
}

const cutoffOf = (o: ToneOptions, shape: NoteShape = {}) => Math.min(18_000, o.cutoff * (shape.bright ?? 1));

/** The note's oscillators through its low-pass, `length` samples (into `reuse` when it is long enough). */
function toneSource({ tone: o, midi, shape = {} }: ToneNote, length: number, reuse?: ToneSource): ToneSource {
  const detune = o.detune !== 0;
  const spread = detune ? (o.spread ?? 0) : 0;
  const fits = (a: Float64Array | null | undefined) => (a && a.length >= length ? a : new Float64Array(length));
  const a = fits(reuse?.left);
  const b = spread ? fits(reuse?.right) : null;
  const lpA = 1 - Math.exp((-TWO_PI * cutoffOf(o, shape)) / SAMPLE_RATE);
  const baseDt = midiToFrequency(midi) / SAMPLE_RATE;
  const detuneRatio = 2 ** (o.detune / 1200);
  const pitch = pitchPath(midi, shape.slides ?? [], o.glide ?? 0.08);
  const timbre = o.timbre;
  // Oscillator 1 to the left and 2 to the right by `spread` (their sum stays the same in mono).
  const w1 = 0.5 * (1 + spread);
  const w2 = 0.5 * (1 - spread);
  let dt1 = baseDt;
  let p1 = o.phaseByPitch ? (midi * PHASE_STEP) % 1 : 0;
  let p2 = (p1 + 0.25) % 1;
  let lp = 0;
  let lp2 = 0;
  for (let n = 0; n < length; n++) {
    if (pitch) dt1 = baseDt * pitch(n);
    const v1 = osc(timbre, p1, dt1);
    p1 += dt1;
    if (p1 >= 1) p1 -= 1;
    if (!detune) {
      lp += lpA * (v1 - lp);
    } else {
      const dt2 = dt1 * detuneRatio;
      const v2 = osc(timbre, p2, dt2);
      p2 += dt2;
      if (p2 >= 1) p2 -= 1;
      lp += lpA * (w1 * v1 + w2 * v2 - lp);
      if (b) {
        lp2 += lpA * (w2 * v1 + w1 * v2 - lp2);
        b[n] = lp2;
      }
    }
    a[n] = lp;
  }
  return { left: a, right: b };
}

/** Adds one note's first `length` samples from its oscillator signal: its envelope, velocity, drive and pan. */
function playTone(out: Stereo, { start, lengthSec, velocity, tone: o }: ToneNote, source: ToneSource, length: number): void {
  const end = start + length;
  const held = lengthSec * SAMPLE_RATE;
  const [gl, gr] = panGains(o.pan);
  const amp = o.gain * velocity;
  const sustain = o.sustain;
  const attackS = Math.max(1, o.attack * SAMPLE_RATE);
  const attackStep = 1 / attackS;
  const decayStep = (1 - sustain) / Math.max(1, o.decay * SAMPLE_RATE);
  const releaseStep = 1 / Math.max(1, o.release * SAMPLE_RATE);
  const drive = o.drive ?? 0;
  const driveNorm = drive ? 1 / softClip(drive) : 1;
  const a = source.left;
  const b = source.right;
  const L = out.left;
  const R = out.right;
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
    let left = a[n] as number;
    let right = b ? (b[n] as number) : left;
    const g = env * amp;
    if (drive) {
      left = softClip(left * g * drive) * driveNorm;
      right = b ? softClip(right * g * drive) * driveNorm : left;
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
