/**
 * The engine's hot loops, written for speed (runs between wraps, both channels in one pass, leading
 * silence skipped, a note's envelope stage by stage), give the samples of their plain per-sample form,
 * bit for bit: a beat sounds as it did before they were. The reverb, the biquad and the envelope are
 * checked against that plain form, kept here; wow and flutter, whose arithmetic did not change, against
 * each channel moved alone.
 */
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import { compose } from '../../worker/engine/composer.js';
import { type Biquad, type Stereo, biquadInPlace, lowpass, reverbInto, stereo } from '../../worker/engine/dsp.js';
import { renderPart } from '../../worker/engine/render.js';
import { Rng } from '../../worker/engine/rng.js';
import { type ToneOptions, envelopeInto } from '../../worker/engine/synth.js';
import { wowAndFlutter } from '../../worker/engine/vinyl.js';

/** Freeverb as it was written first: one sample at a time, each line's index wrapped as it goes. */
function plainReverbSide(input: Float32Array, target: Float32Array, mix: number, size: number, damp: number, spread: number) {
  const combs = [1116, 1188, 1277, 1356].map((n) => ({ buf: new Float32Array(n + spread), at: 0, s: 0 }));
  const passes = [556, 441].map((n) => ({ buf: new Float32Array(n + spread), at: 0 }));
  for (let i = 0; i < input.length; i++) {
    const x = (input[i] as number) * 0.015;
    let acc = 0;
    let k = 0;
    for (const c of combs) {
      const y = c.buf[c.at] as number;
      c.s = y * (1 - damp) + c.s * damp;
      c.buf[c.at] = x + c.s * size;
      c.at = (c.at + 1) % c.buf.length;
      acc = k++ === 0 ? y : acc + y;
    }
    for (const a of passes) {
      const b = a.buf[a.at] as number;
      a.buf[a.at] = acc + b * 0.5;
      a.at = (a.at + 1) % a.buf.length;
      acc = b - acc;
    }
    target[i] = (target[i] as number) + acc * mix;
  }
}

function plainBiquad(x: Float32Array, c: Biquad) {
  let [x1, x2, y1, y2] = [0, 0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const y = c.b0 * xi + c.b1 * x1 + c.b2 * x2 - c.a1 * y1 - c.a2 * y2;
    [x2, x1, y2, y1] = [x1, xi, y1, y];
    x[i] = y;
  }
}

/** A note's envelope as playTone first computed it: one sample at a time, each sample testing its stage. */
function plainEnvelope(o: ToneOptions, lengthSec: number, length: number): number[] {
  const held = lengthSec * 44_100;
  const attackS = Math.max(1, o.attack * 44_100);
  const decayStep = (1 - o.sustain) / Math.max(1, o.decay * 44_100);
  const releaseStep = 1 / Math.max(1, o.release * 44_100);
  const out: number[] = [];
  let atRelease = 0;
  for (let n = 0; n < length; n++) {
    let env: number;
    if (n < held) {
      env = n < attackS ? n * (1 / attackS) : Math.max(o.sustain, 1 - decayStep * (n - attackS));
      atRelease = env;
    } else {
      env = atRelease * (1 - (n - held) * releaseStep);
      if (env <= 0) break;
    }
    out.push(env);
  }
  return out;
}

const copy = (s: Stereo): Stereo => ({ left: s.left.slice(), right: s.right.slice() });
/** Where two buffers first differ, or -1. */
const firstDifference = (a: Float32Array, b: Float32Array) => a.findIndex((v, i) => !Object.is(v, b[i]));

function noise(length: number, seed: number): Stereo {
  const rng = new Rng(seed);
  const s = stereo(length);
  for (let i = 0; i < length; i++) {
    s.left[i] = rng.next() * 2 - 1;
    s.right[i] = rng.next() * 2 - 1;
  }
  return s;
}

const key = parseKey('A minor');
if (!key) throw new Error('key');
// A send with the engine's kind of silences: quiet at first, then a lo-fi beat's lead with its rests.
const send = new Float32Array(120_000);
send.set(
  renderPart(compose({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: 12, seed: 3 }), 'lead').left.subarray(0, 90_000),
  30_000,
);

describe('the engine’s loops give the samples of their plain form', () => {
  it.each([
    ['a lead’s send, silent at first', send],
    ['noise', noise(100_000, 5).left],
  ])('reverb over %s', (_, input) => {
    expect(input.some((v) => v !== 0)).toBe(true);
    const target = noise(input.length, 9);
    const plain = copy(target);
    reverbInto(input, target, 0.3, 0.8, 0.3);
    plainReverbSide(input, plain.left, 0.3, 0.8, 0.3, 0);
    plainReverbSide(input, plain.right, 0.3, 0.8, 0.3, 23);
    expect(firstDifference(target.left, plain.left)).toBe(-1);
    expect(firstDifference(target.right, plain.right)).toBe(-1);
    // The reverb did something: the plain form is not the input left as it was.
    expect(firstDifference(target.left, noise(input.length, 9).left)).toBeGreaterThanOrEqual(0);
  });

  it('a biquad over both channels at once filters each as alone', () => {
    const s = noise(50_000, 11);
    const plain = copy(s);
    biquadInPlace(s, lowpass(2_000));
    plainBiquad(plain.left, lowpass(2_000));
    plainBiquad(plain.right, lowpass(2_000));
    expect(firstDifference(s.left, plain.left)).toBe(-1);
    expect(firstDifference(s.right, plain.right)).toBe(-1);
  });

  it.each([
    ['held past its attack and decay', 0.3, 0.01, 0.05, 0.1],
    ['released in its attack', 0.004, 0.0123, 0.2, 0.05],
    ['a fraction of a sample long', 0.00001, 0.01, 0.2, 0.05],
    ['not held at all', -0.1, 0.01, 0.2, 0.05],
    ['cut short by its buffer', 2, 0.01, 0.3, 0.5],
  ])('a note’s envelope, %s', (_, lengthSec, attack, decay, release) => {
    const tone = { timbre: 'saw', attack, decay, sustain: 0.6, release, cutoff: 4000, detune: 0, pan: 0, gain: 0.5 } as const;
    const length = Math.min(30_000, Math.max(100, Math.floor((lengthSec + release) * 44_100)));
    const env = new Float64Array(length);
    const sounding = envelopeInto(env, tone, lengthSec, length);
    const plain = plainEnvelope(tone, lengthSec, length);
    expect(sounding).toBe(plain.length);
    expect([...env.subarray(0, sounding)]).toEqual(plain);
  });

  it('wow and flutter over both channels moves each as alone', () => {
    const s = noise(60_000, 13);
    const leftAlone = { left: s.left.slice(), right: new Float32Array(s.left.length) };
    const rightAlone = { left: s.right.slice(), right: new Float32Array(s.left.length) };
    wowAndFlutter(s, 44_100);
    wowAndFlutter(leftAlone, 44_100);
    wowAndFlutter(rightAlone, 44_100);
    expect(firstDifference(s.left, leftAlone.left)).toBe(-1);
    expect(firstDifference(s.right, rightAlone.left)).toBe(-1);
    expect(firstDifference(s.left, noise(60_000, 13).left)).toBeGreaterThanOrEqual(0);
  });
});
