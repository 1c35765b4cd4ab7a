/**
 * Drums: each hit synthesized into a stereo buffer (a pitch-swept sine kick, noise snares, claps, hats
 * and crash through filters, a tuned blip for percussion and toms, a riser of swept noise).
 */
import type { DrumName } from './arrangement.js';
import { type Stereo, SAMPLE_RATE, panGains } from './dsp.js';
import { softClip } from './synth.js';

const TWO_PI = 2 * Math.PI;

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
  const putWide = (i: number, l: number, r: number) => {
    const g = i < releaseFrom ? 1 : (RELEASE[i - releaseFrom] as number);
    L[i] = (L[i] as number) + l * g * gl;
    R[i] = (R[i] as number) + r * g * gr;
  };
  const put = (i: number, v: number) => putWide(i, v, v);
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
