/**
 * Instruments: each voice writes one note or hit into a stereo buffer.
 * Drums are synthesized (pitch-swept sine kick, noise snare/hats/clap);
 * tonal voices are band-limited (PolyBLEP) oscillators through an envelope
 * and a low-pass.
 */
import { midiToFrequency } from '../../src/music/theory.js';
import type { DrumName } from './arrangement.js';
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
const softClip = (x: number) => (x >= 3 ? 1 : x <= -3 ? -1 : (x * (27 + x * x)) / (27 + 9 * x * x));

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
  /** Start frequency ratio gliding to 1 over `glide` seconds (808 slides). */
  glide?: number;
  /**
   * Start each note's oscillators at a phase set by its pitch rather than at zero. Notes sounding
   * together (a chord) otherwise start in step, and saws whose frequencies stand near whole ratios
   * stay in step: their resets add up to peaks 4–6 dB above the chord's level.
   */
  phaseByPitch?: boolean;
}

/** The golden ratio's fraction: successive pitches' start phases as far apart as can be. */
const PHASE_STEP = 0.6180339887;

/** Writes one note starting at sample `start`, `lengthSec` long plus its release. */
export function renderTone(out: Stereo, start: number, lengthSec: number, midi: number, velocity: number, o: ToneOptions): void {
  const freq = midiToFrequency(midi);
  const total = Math.floor((lengthSec + o.release) * SAMPLE_RATE);
  const end = Math.min(out.left.length, start + total);
  const held = lengthSec * SAMPLE_RATE;
  const [gl, gr] = panGains(o.pan);
  const amp = o.gain * velocity;
  const lpA = 1 - Math.exp((-TWO_PI * o.cutoff) / SAMPLE_RATE);
  const attackS = Math.max(1, o.attack * SAMPLE_RATE);
  const attackStep = 1 / attackS;
  const sustain = o.sustain;
  const decayStep = (1 - sustain) / Math.max(1, o.decay * SAMPLE_RATE);
  const releaseStep = 1 / Math.max(1, o.release * SAMPLE_RATE);
  const dt1 = freq / SAMPLE_RATE;
  const dt2 = (freq * 2 ** (o.detune / 1200)) / SAMPLE_RATE;
  const glideS = (o.glide ?? 0) * SAMPLE_RATE;
  const timbre = o.timbre;
  const detune = o.detune !== 0;
  const drive = o.drive ?? 0;
  const driveNorm = drive ? 1 / softClip(drive) : 1;
  const L = out.left;
  const R = out.right;
  let p1 = o.phaseByPitch ? (midi * PHASE_STEP) % 1 : 0;
  let p2 = (p1 + 0.25) % 1;
  let lp = 0;
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
    const bend = glideS && n < glideS ? 1 + (1 - n / glideS) * 0.5 : 1;
    let v = osc(timbre, p1, dt1 * bend);
    p1 += dt1 * bend;
    if (p1 >= 1) p1 -= 1;
    if (detune) {
      v = 0.5 * (v + osc(timbre, p2, dt2 * bend));
      p2 += dt2 * bend;
      if (p2 >= 1) p2 -= 1;
    }
    lp += lpA * (v - lp);
    let x = lp * env * amp;
    if (drive) x = softClip(x * drive) * driveNorm;
    L[i] = (L[i] as number) + x * gl;
    R[i] = (R[i] as number) + x * gr;
  }
}

export interface DrumKit {
  noise: Float32Array;
  /** The kick's decay time constant, seconds (styles.ts: short where an 808 or sub bass carries the low end). */
  kickDecay: number;
}

const DRUM_PAN: Record<DrumName, number> = { kick: 0, snare: 0.05, clap: -0.08, hat: 0.3, openhat: 0.3, perc: -0.35 };

const decayFactor = (seconds: number) => Math.exp(-1 / (seconds * SAMPLE_RATE));

/** How long a hit sounds, its release included: the kick to 5 % of its level (three time constants). */
export function drumLengthSec(drum: DrumName, kit: Pick<DrumKit, 'kickDecay'>): number {
  if (drum === 'kick') return kit.kickDecay * 3;
  if (drum === 'perc') return 0.12;
  return NOISE_DRUMS[drum].length;
}

/** The kick's sine driven into softClip: a rounder square wave, harmonics at 100–300 Hz that small speakers play. */
const KICK_DRIVE = 2.2;
const KICK_NORM = 1 / softClip(KICK_DRIVE);

/**
 * The last 10 ms of every hit, a raised-cosine fade to zero: a hit stops while still sounding (the
 * kick at 5 % of its level), and stopping it there outright is a click.
 */
const RELEASE_SAMPLES = Math.round(0.01 * SAMPLE_RATE);
const RELEASE = Float32Array.from(
  { length: RELEASE_SAMPLES },
  (_, k) => 0.5 * (1 + Math.cos((Math.PI * (k + 1)) / (RELEASE_SAMPLES + 1))),
);

/** Writes one drum hit at sample `start` (envelopes are running products, no per-sample exp). */
export function renderDrum(
  out: Stereo,
  start: number,
  drum: DrumName,
  velocity: number,
  kit: DrumKit,
  noiseOffset: number,
): void {
  const [gl, gr] = panGains(DRUM_PAN[drum]);
  const L = out.left;
  const R = out.right;
  const noise = kit.noise;
  const nlen = noise.length;
  let ni = noiseOffset % nlen;
  const length = Math.floor(drumLengthSec(drum, kit) * SAMPLE_RATE);
  const end = Math.min(L.length, start + length);
  const releaseFrom = start + length - RELEASE_SAMPLES;
  const put = (i: number, v: number) => {
    const g = i < releaseFrom ? 1 : (RELEASE[i - releaseFrom] as number);
    L[i] = (L[i] as number) + v * g * gl;
    R[i] = (R[i] as number) + v * g * gr;
  };
  switch (drum) {
    case 'kick': {
      const ampK = decayFactor(kit.kickDecay);
      const sweepK = decayFactor(0.035);
      let amp = 0.95 * velocity;
      let sweep = 110;
      let phase = 0;
      for (let i = start; i < end; i++) {
        const n = i - start;
        phase += (48 + sweep) / SAMPLE_RATE;
        if (phase >= 1) phase -= 1;
        let v = softClip(Math.sin(TWO_PI * phase) * KICK_DRIVE) * KICK_NORM * amp;
        if (n < 80) v += (noise[(ni + n) % nlen] as number) * 0.25 * (1 - n / 80) * velocity;
        put(i, v);
        amp *= ampK;
        sweep *= sweepK;
      }
      break;
    }
    case 'snare':
    case 'clap':
    case 'hat':
    case 'openhat': {
      const spec = NOISE_DRUMS[drum];
      const noiseK = decayFactor(spec.noiseDecay);
      const toneK = decayFactor(0.04);
      const burstEnd = Math.floor(0.03 * SAMPLE_RATE);
      let noiseAmp = spec.noiseGain * velocity;
      let toneAmp = spec.toneGain * velocity;
      const lpA = 1 - Math.exp((-TWO_PI * spec.lowpassHz) / SAMPLE_RATE);
      let hp = 0;
      let lp1 = 0;
      let lp = 0;
      let prev = 0;
      let phase = 0;
      for (let i = start; i < end; i++) {
        const n = i - start;
        const x = noise[ni] as number;
        if (++ni === nlen) ni = 0;
        hp = spec.hp * (hp + x - prev);
        prev = x;
        lp1 += lpA * (hp - lp1);
        lp += lpA * (lp1 - lp);
        let v: number;
        if (drum === 'clap' && n < burstEnd) v = lp * spec.noiseGain * velocity * (Math.floor(n / 441) % 2 === 0 ? 1 : 0.3);
        else {
          v = lp * noiseAmp;
          noiseAmp *= noiseK;
        }
        if (toneAmp > 1e-4) {
          phase += 185 / SAMPLE_RATE;
          v += Math.sin(TWO_PI * phase) * toneAmp;
          toneAmp *= toneK;
        }
        put(i, v);
      }
      break;
    }
    case 'perc': {
      const k = decayFactor(0.025);
      let amp = 0.45 * velocity;
      for (let i = start; i < end; i++) {
        put(i, Math.sin((TWO_PI * 820 * (i - start)) / SAMPLE_RATE) * amp);
        amp *= k;
      }
      break;
    }
  }
}

/**
 * Noise-based drums: one-pole high-pass coefficient (0.85 ≈ 1.2 kHz, 0.7 ≈ 2.9 kHz, 0.6 ≈ 4.7 kHz),
 * two-pole low-pass (white noise up to 22 kHz is harsh, and its inter-sample peaks stand 1–2 dB
 * above what a BS.1770 meter reads; hats keep their energy in 5–11 kHz, where a phone speaker still
 * plays them), noise decay, optional 185 Hz body (snare).
 */
const NOISE_DRUMS: Record<
  'snare' | 'clap' | 'hat' | 'openhat',
  { hp: number; lowpassHz: number; noiseDecay: number; noiseGain: number; toneGain: number; length: number }
> = {
  snare: { hp: 0.85, lowpassHz: 9000, noiseDecay: 0.09, noiseGain: 1, toneGain: 0.35, length: 0.3 },
  clap: { hp: 0.7, lowpassHz: 9000, noiseDecay: 0.06, noiseGain: 1.05, toneGain: 0, length: 0.25 },
  hat: { hp: 0.6, lowpassHz: 11_000, noiseDecay: 0.045, noiseGain: 0.8, toneGain: 0, length: 0.2 },
  openhat: { hp: 0.6, lowpassHz: 11_000, noiseDecay: 0.16, noiseGain: 0.7, toneGain: 0, length: 0.9 },
};
