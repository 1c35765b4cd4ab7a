/**
 * One note as the engine wrote it before notes shared their oscillators (worker/engine/synth.ts
 * renderTone at 5bfbecb^): oscillators, low-pass, envelope, drive and pan in one loop per note.
 * test/unit/tone-sharing.test.ts holds renderTones to it, bit for bit. The oscillators themselves
 * (`osc`, `pitchPath`) are the engine's.
 */
import { midiToFrequency } from '../../src/music/theory.js';
import { SAMPLE_RATE, type Stereo, panGains } from '../../worker/engine/dsp.js';
import { type NoteShape, PHASE_STEP, type ToneOptions, osc, pitchPath, softClip } from '../../worker/engine/synth.js';

export function referenceTone(
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
  const lpA = 1 - Math.exp((-2 * Math.PI * cutoff) / SAMPLE_RATE);
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
