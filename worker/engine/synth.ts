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

/** What one note asks of its voice beyond pitch and length (arrangement.ts Note). */
export interface NoteShape {
  /** Slide from this pitch (an 808 glide): the note starts at its sustain, not struck again. */
  glideFrom?: number;
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
  const freq = midiToFrequency(midi);
  const total = Math.floor((lengthSec + o.release) * SAMPLE_RATE);
  const end = Math.min(out.left.length, start + total);
  const held = lengthSec * SAMPLE_RATE;
  const [gl, gr] = panGains(o.pan);
  const amp = o.gain * velocity;
  const cutoff = Math.min(18_000, o.cutoff * (shape.bright ?? 1));
  const lpA = 1 - Math.exp((-TWO_PI * cutoff) / SAMPLE_RATE);
  const sustain = o.sustain;
  const glides = shape.glideFrom !== undefined && shape.glideFrom !== midi;
  // A glide is the held note sliding on: no attack, no decay, from the sustain level.
  const attackS = glides ? 1 : Math.max(1, o.attack * SAMPLE_RATE);
  const attackStep = 1 / attackS;
  const decayStep = glides ? 0 : (1 - sustain) / Math.max(1, o.decay * SAMPLE_RATE);
  const releaseStep = 1 / Math.max(1, o.release * SAMPLE_RATE);
  const dt1 = freq / SAMPLE_RATE;
  const dt2 = (freq * 2 ** (o.detune / 1200)) / SAMPLE_RATE;
  // The glide: the frequency ratio starts at from/to and moves to 1 exponentially (evenly in pitch).
  const glideS = glides ? Math.max(1, (o.glide ?? 0.08) * SAMPLE_RATE) : 0;
  const glideFrom = glides ? 2 ** (((shape.glideFrom as number) - midi) / 12) : 1;
  const timbre = o.timbre;
  const detune = o.detune !== 0;
  const drive = o.drive ?? 0;
  const driveNorm = drive ? 1 / softClip(drive) : 1;
  const spread = detune ? (o.spread ?? 0) : 0;
  // Oscillator 1 to the left and 2 to the right by `spread` (their sum stays the same in mono).
  const w1l = 0.5 * (1 + spread);
  const w1r = 0.5 * (1 - spread);
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
      env = n < attackS ? (glides ? sustain : n * attackStep) : Math.max(sustain, 1 - decayStep * (n - attackS));
      envAtRelease = env;
    } else {
      env = envAtRelease * (1 - (n - held) * releaseStep);
      if (env <= 0) break;
    }
    const bend = glideS && n < glideS ? glideFrom ** (1 - n / glideS) : 1;
    const v1 = osc(timbre, p1, dt1 * bend);
    p1 += dt1 * bend;
    if (p1 >= 1) p1 -= 1;
    if (!detune) {
      lp += lpA * (v1 - lp);
      let x = lp * env * amp;
      if (drive) x = softClip(x * drive) * driveNorm;
      L[i] = (L[i] as number) + x * gl;
      R[i] = (R[i] as number) + x * gr;
      continue;
    }
    const v2 = osc(timbre, p2, dt2 * bend);
    p2 += dt2 * bend;
    if (p2 >= 1) p2 -= 1;
    if (!spread) {
      lp += lpA * (0.5 * (v1 + v2) - lp);
      let x = lp * env * amp;
      if (drive) x = softClip(x * drive) * driveNorm;
      L[i] = (L[i] as number) + x * gl;
      R[i] = (R[i] as number) + x * gr;
      continue;
    }
    lp += lpA * (w1l * v1 + w1r * v2 - lp);
    lp2 += lpA * (w1r * v1 + w1l * v2 - lp2);
    const g = env * amp;
    L[i] = (L[i] as number) + lp * g * gl;
    R[i] = (R[i] as number) + lp2 * g * gr;
  }
}

export interface DrumKit {
  noise: Float32Array;
  /** The kick's decay time constant, seconds (styles.ts: short where an 808 or sub bass carries the low end). */
  kickDecay: number;
  /** The kick's body and the snare's, Hz, and the hats' tuning, semitones (palette.ts). */
  kickHz: number;
  snareHz: number;
  hatPitch: number;
}

/** One hit as the renderer plays it. */
export interface DrumStrike {
  drum: DrumName;
  velocity: number;
  /** Semitones up (> 0) or down. */
  pitch?: number;
  /** Its length, seconds, where the drum has none of its own (the riser). */
  lengthSec?: number;
  /** Stereo position, −1..1; the drum's own when absent. */
  pan?: number;
}

const DRUM_PAN: Record<DrumName, number> = {
  kick: 0,
  snare: 0.05,
  clap: -0.08,
  hat: 0.3,
  openhat: 0.3,
  perc: -0.35,
  crash: -0.2,
  riser: 0,
};

const decayFactor = (seconds: number) => Math.exp(-1 / (seconds * SAMPLE_RATE));

/** How long a hit sounds, its release included: the kick to 5 % of its level (three time constants). */
export function drumLengthSec(drum: DrumName, kit: Pick<DrumKit, 'kickDecay'>, lengthSec = 0): number {
  if (drum === 'kick') return kit.kickDecay * 3;
  if (drum === 'perc') return 0.12;
  if (drum === 'riser') return lengthSec;
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

/** A one-pole high-pass coefficient moved by `ratio` in frequency (the coefficient of f is 1 / (1 + 2πf / rate)). */
const hpTuned = (a: number, ratio: number) => 1 / (1 + (1 / a - 1) * ratio);

/**
 * Writes one drum hit at sample `start` (envelopes are running products, no per-sample exp). Cymbals
 * (hats, crash, riser) read different noise on each side: they sound wide, not from one point.
 */
export function renderDrum(out: Stereo, start: number, hit: DrumStrike, kit: DrumKit, noiseOffset: number): void {
  const { drum, velocity } = hit;
  const [gl, gr] = panGains(hit.pan ?? DRUM_PAN[drum]);
  const L = out.left;
  const R = out.right;
  const noise = kit.noise;
  const nlen = noise.length;
  let ni = noiseOffset % nlen;
  const tune = 2 ** ((hit.pitch ?? 0) / 12);
  const length = Math.floor(drumLengthSec(drum, kit, hit.lengthSec) * SAMPLE_RATE);
  const end = Math.min(L.length, start + length);
  const releaseFrom = start + length - RELEASE_SAMPLES;
  const put = (i: number, v: number) => {
    const g = i < releaseFrom ? 1 : (RELEASE[i - releaseFrom] as number);
    L[i] = (L[i] as number) + v * g * gl;
    R[i] = (R[i] as number) + v * g * gr;
  };
  const putWide = (i: number, l: number, r: number) => {
    const g = i < releaseFrom ? 1 : (RELEASE[i - releaseFrom] as number);
    L[i] = (L[i] as number) + l * g * gl;
    R[i] = (R[i] as number) + r * g * gr;
  };
  switch (drum) {
    case 'kick': {
      const ampK = decayFactor(kit.kickDecay);
      const sweepK = decayFactor(0.035);
      let amp = 0.95 * velocity;
      let sweep = 110 * tune;
      let phase = 0;
      const body = kit.kickHz * tune;
      for (let i = start; i < end; i++) {
        const n = i - start;
        phase += (body + sweep) / SAMPLE_RATE;
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
    case 'openhat':
    case 'crash': {
      const spec = NOISE_DRUMS[drum];
      const cymbal = drum === 'hat' || drum === 'openhat' || drum === 'crash';
      const ratio = tune * (cymbal ? 2 ** (kit.hatPitch / 12) : 1);
      const hpA = hpTuned(spec.hp, ratio);
      const noiseK = decayFactor(spec.noiseDecay);
      const toneK = decayFactor(0.04);
      const burstEnd = Math.floor(0.03 * SAMPLE_RATE);
      let noiseAmp = spec.noiseGain * velocity;
      let toneAmp = spec.toneGain * velocity;
      const lpA = 1 - Math.exp((-TWO_PI * Math.min(18_000, spec.lowpassHz * ratio)) / SAMPLE_RATE);
      const toneStep = (kit.snareHz * tune) / SAMPLE_RATE;
      // The right side's noise: the same table, half of it away.
      let nj = (ni + (nlen >> 1)) % nlen;
      let hp = 0;
      let lp1 = 0;
      let lp = 0;
      let prev = 0;
      let hpR = 0;
      let lp1R = 0;
      let lpR = 0;
      let prevR = 0;
      let phase = 0;
      for (let i = start; i < end; i++) {
        const n = i - start;
        const x = noise[ni] as number;
        if (++ni === nlen) ni = 0;
        hp = hpA * (hp + x - prev);
        prev = x;
        lp1 += lpA * (hp - lp1);
        lp += lpA * (lp1 - lp);
        if (cymbal) {
          const y = noise[nj] as number;
          if (++nj === nlen) nj = 0;
          hpR = hpA * (hpR + y - prevR);
          prevR = y;
          lp1R += lpA * (hpR - lp1R);
          lpR += lpA * (lp1R - lpR);
          // Mostly its own noise on each side, some of the other's: side about 9 dB under mid, the same power.
          putWide(i, (0.9 * lp + 0.42 * lpR) * noiseAmp, (0.9 * lpR + 0.42 * lp) * noiseAmp);
          noiseAmp *= noiseK;
          continue;
        }
        let v: number;
        if (drum === 'clap' && n < burstEnd) v = lp * spec.noiseGain * velocity * (Math.floor(n / 441) % 2 === 0 ? 1 : 0.3);
        else {
          v = lp * noiseAmp;
          noiseAmp *= noiseK;
        }
        if (toneAmp > 1e-4) {
          phase += toneStep;
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
      const step = (TWO_PI * 820 * tune) / SAMPLE_RATE;
      for (let i = start; i < end; i++) {
        put(i, Math.sin(step * (i - start)) * amp);
        amp *= k;
      }
      break;
    }
    case 'riser':
      renderRiser(start, end, velocity, noise, ni, putWide);
      break;
  }
}

/**
 * A riser: noise through a resonant band-pass sweeping from 300 Hz to 9 kHz, growing louder to its
 * end (a state-variable filter per side, each on its own noise).
 */
function renderRiser(
  start: number,
  end: number,
  velocity: number,
  noise: Float32Array,
  offset: number,
  put: (i: number, l: number, r: number) => void,
): void {
  const nlen = noise.length;
  const total = Math.max(1, end - start);
  const damping = 0.35;
  let lowL = 0;
  let bandL = 0;
  let lowR = 0;
  let bandR = 0;
  for (let i = start; i < end; i++) {
    const x = (i - start) / total;
    const f = 2 * Math.sin((Math.PI * 300 * 30 ** x) / SAMPLE_RATE);
    const a = noise[(offset + i - start) % nlen] as number;
    const b = noise[(offset + i - start + (nlen >> 1)) % nlen] as number;
    lowL += f * bandL;
    bandL += f * (a - lowL - damping * bandL);
    lowR += f * bandR;
    bandR += f * (b - lowR - damping * bandR);
    const g = 0.3 * velocity * x * x;
    put(i, bandL * g, bandR * g);
  }
}

/**
 * Noise-based drums: one-pole high-pass coefficient (0.85 ≈ 1.2 kHz, 0.7 ≈ 2.9 kHz, 0.6 ≈ 4.7 kHz),
 * two-pole low-pass (white noise up to 22 kHz is harsh, and its inter-sample peaks stand 1–2 dB
 * above what a BS.1770 meter reads; hats keep their energy in 5–11 kHz, where a phone speaker still
 * plays them), noise decay, optional body (the snare's, palette.ts).
 */
const NOISE_DRUMS: Record<
  'snare' | 'clap' | 'hat' | 'openhat' | 'crash',
  { hp: number; lowpassHz: number; noiseDecay: number; noiseGain: number; toneGain: number; length: number }
> = {
  snare: { hp: 0.85, lowpassHz: 9000, noiseDecay: 0.09, noiseGain: 1, toneGain: 0.35, length: 0.3 },
  clap: { hp: 0.7, lowpassHz: 9000, noiseDecay: 0.06, noiseGain: 1.05, toneGain: 0, length: 0.25 },
  hat: { hp: 0.6, lowpassHz: 11_000, noiseDecay: 0.045, noiseGain: 0.8, toneGain: 0, length: 0.2 },
  openhat: { hp: 0.6, lowpassHz: 11_000, noiseDecay: 0.16, noiseGain: 0.7, toneGain: 0, length: 0.9 },
  crash: { hp: 0.7, lowpassHz: 12_000, noiseDecay: 0.45, noiseGain: 0.55, toneGain: 0, length: 1.8 },
};
