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
export function osc(timbre: Timbre, t: number, dt: number): number {
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
export const PHASE_STEP = 0.6180339887;

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
 * The memory for shared signals, in samples of 8 bytes, both sides of a spread voice counted: 2 M, 15
 * MiB, allocated once per engine thread (at its first render that shares) and kept, with the scratch
 * for notes computed alone (up to SCRATCH_KEPT a side, 3.4 MiB each) and for a note's envelope (up to
 * SCRATCH_KEPT, 3.4 MiB): rendering leaves no garbage for the collector (but for a note over 10 s), and
 * a job's peak grows by at most these.
 * A pad's pitches come to 0.8-2.6 M (8-11 pitches, each as long as its longest note, two sides; the
 * same at 30 s and 300 s); house's and techno's chords, whose brightness moves from bar to bar, to many
 * more. Notes whose signal does not fit are computed alone, as a pitch played once is.
 */
export const SHARED_SAMPLES = 2_000_000;
const SCRATCH_KEPT = 10 * SAMPLE_RATE;

let arena: Float64Array | undefined;
let scratchLeft: Float64Array | undefined;
let scratchRight: Float64Array | undefined;

/** What renderTones did: notes played from a shared signal, notes computed alone, and the shared samples it used. */
export interface ToneSharing {
  shared: number;
  alone: number;
  used: number;
}

/**
 * Writes notes into `out`, in order. A note's oscillators and low-pass, before its envelope, velocity
 * and pan, depend only on their settings (timbre, cutoff with the note's brightness, detune, spread)
 * and its pitch: they start at the same phase wherever the note starts. So notes that share those
 * share that signal, computed once as long as the longest of them, and only the envelope, velocity,
 * drive and pan are applied per note: a chord part plays each of its few pitches tens of times (the
 * two chord voices, panned apart, share too). The samples are those of computing each note alone, bit
 * for bit. Signals are shared in the order their first notes come, while SHARED_SAMPLES has room; a
 * note that slides, a signal one note plays, or one that does not fit is computed for the note alone.
 */
export function renderTones(out: Stereo, notes: readonly ToneNote[], sharing?: ToneSharing): void {
  const lengths = notes.map((n) => playedSamples(out, n));
  // Each note's sharable signal: its key, and per key the samples its notes play at most and its last note.
  const keys = notes.map((n) => (n.shape?.slides?.length ? null : sourceKey(n)));
  const need = new Map<string, { samples: number; last: number }>();
  keys.forEach((key, i) => {
    if (!key) return;
    const seen = need.get(key);
    if (seen) {
      seen.samples = Math.max(seen.samples, lengths[i] as number);
      seen.last = i;
    } else need.set(key, { samples: lengths[i] as number, last: i });
  });
  const shared = new Map<string, ToneSource>();
  let used = 0;
  const take = (samples: number) => {
    arena ??= new Float64Array(SHARED_SAMPLES);
    used += samples;
    return arena.subarray(used - samples, used);
  };
  notes.forEach((n, i) => {
    const key = keys[i];
    const plan = key ? need.get(key) : undefined;
    let source = key ? shared.get(key) : undefined;
    // Shared from a note that has a later one to share it with, if it fits.
    const sides = spreadOf(n.tone) ? 2 : 1;
    if (!source && key && plan && plan.last > i && used + plan.samples * sides <= SHARED_SAMPLES) {
      source = toneSource(n, take(plan.samples), sides === 2 ? take(plan.samples) : null);
      shared.set(key, source);
    }
    if (sharing) sharing[source ? 'shared' : 'alone']++;
    source ??= toneSource(n, ...scratchFor(lengths[i] as number, sides));
    playTone(out, n, source, lengths[i] as number);
  });
  if (sharing) sharing.used = used;
}

/** `length` samples of scratch for one or two sides: the thread's own, grown as needed up to SCRATCH_KEPT (longer: new ones). */
function scratchFor(length: number, sides: number): [Float64Array, Float64Array | null] {
  if (length > SCRATCH_KEPT) return [new Float64Array(length), sides === 2 ? new Float64Array(length) : null];
  if (!scratchLeft || scratchLeft.length < length) scratchLeft = new Float64Array(length);
  if (sides === 1) return [scratchLeft.subarray(0, length), null];
  if (!scratchRight || scratchRight.length < length) scratchRight = new Float64Array(length);
  return [scratchLeft.subarray(0, length), scratchRight.subarray(0, length)];
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

/** A voice's oscillator signal has two sides when its detuned oscillators are spread, else one. */
const spreadOf = (o: ToneOptions) => (o.detune !== 0 ? (o.spread ?? 0) : 0);

/** What decides a note's oscillator signal (sliding notes aside): its voice's oscillators, cutoff and pitch. */
function sourceKey({ tone: o, midi, shape }: ToneNote): string {
  return `${o.timbre} ${cutoffOf(o, shape)} ${o.detune} ${spreadOf(o)} ${o.phaseByPitch ? 1 : 0} ${midi}`;
}

const cutoffOf = (o: ToneOptions, shape: NoteShape = {}) => Math.min(18_000, o.cutoff * (shape.bright ?? 1));

/** The note's oscillators through its low-pass, as many samples as `a` holds: into `a`, and `b` for a spread voice's right side. */
function toneSource({ tone: o, midi, shape = {} }: ToneNote, a: Float64Array, b: Float64Array | null): ToneSource {
  const length = a.length;
  const detune = o.detune !== 0;
  const spread = spreadOf(o);
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

/** Envelope scratch, one value a sample: the thread's own, grown as needed up to SCRATCH_KEPT (longer: a new one). */
let envelopeKept = new Float64Array(0);
function envelopeScratch(length: number): Float64Array {
  if (length > SCRATCH_KEPT) return new Float64Array(length);
  if (envelopeKept.length < length) envelopeKept = new Float64Array(length);
  return envelopeKept;
}

/**
 * A note's envelope over its first `length` samples, into `env`; returns the samples it sounds (its release
 * ends at zero, and it stops there). Attack, decay to the sustain level while held, then release from
 * the level it had reached: each stage a loop of its own, with the arithmetic of one. Exported for its
 * test (test/unit/dsp-loops.test.ts).
 */
export function envelopeInto(env: Float64Array, o: ToneOptions, lengthSec: number, length: number): number {
  const held = lengthSec * SAMPLE_RATE;
  const sustain = o.sustain;
  const attackS = Math.max(1, o.attack * SAMPLE_RATE);
  const attackStep = 1 / attackS;
  const decayStep = (1 - sustain) / Math.max(1, o.decay * SAMPLE_RATE);
  const releaseStep = 1 / Math.max(1, o.release * SAMPLE_RATE);
  // Sample n is held while n < held, in its attack while n < attackS.
  const heldEnd = Math.max(0, Math.min(length, Math.ceil(held)));
  const attackEnd = Math.min(heldEnd, Math.ceil(attackS));
  let n = 0;
  for (; n < attackEnd; n++) env[n] = n * attackStep;
  for (; n < heldEnd; n++) env[n] = Math.max(sustain, 1 - decayStep * (n - attackS));
  const atRelease = heldEnd > 0 ? (env[heldEnd - 1] as number) : 0;
  for (; n < length; n++) {
    const e = atRelease * (1 - (n - held) * releaseStep);
    if (e <= 0) break;
    env[n] = e;
  }
  return n;
}

/** Adds one note's first `length` samples from its oscillator signal: its envelope, velocity, drive and pan. */
function playTone(out: Stereo, { start, lengthSec, velocity, tone: o }: ToneNote, source: ToneSource, length: number): void {
  const env = envelopeScratch(length);
  const sounding = envelopeInto(env, o, lengthSec, length);
  const [gl, gr] = panGains(o.pan);
  const amp = o.gain * velocity;
  const drive = o.drive ?? 0;
  const driveNorm = drive ? 1 / softClip(drive) : 1;
  const a = source.left;
  const b = source.right;
  const L = out.left;
  const R = out.right;
  if (drive) {
    for (let n = 0; n < sounding; n++) {
      const g = (env[n] as number) * amp;
      const left = softClip((a[n] as number) * g * drive) * driveNorm;
      const right = b ? softClip((b[n] as number) * g * drive) * driveNorm : left;
      L[start + n] = (L[start + n] as number) + left * gl;
      R[start + n] = (R[start + n] as number) + right * gr;
    }
  } else if (b) {
    for (let n = 0; n < sounding; n++) {
      const g = (env[n] as number) * amp;
      L[start + n] = (L[start + n] as number) + (a[n] as number) * g * gl;
      R[start + n] = (R[start + n] as number) + (b[n] as number) * g * gr;
    }
  } else {
    for (let n = 0; n < sounding; n++) {
      const v = (a[n] as number) * ((env[n] as number) * amp);
      L[start + n] = (L[start + n] as number) + v * gl;
      R[start + n] = (R[start + n] as number) + v * gr;
    }
  }
}

/**
 * The frequency ratio to the note's own pitch at each sample of a note that slides, or undefined for
 * one that does not: each slide moves from the pitch before to its own, linearly in semitones over
 * `glideSec`, from its start.
 */
export function pitchPath(midi: number, slides: readonly { atSec: number; midi: number }[], glideSec: number) {
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
