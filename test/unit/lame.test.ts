/**
 * Our LAME build (worker/engine/lame/: -O3 and SIMD, where wasm-media-encoders ships LAME built for
 * size) is the same encoder: the same input gives the same MP3 bytes as wasm-media-encoders' build
 * with the settings the engine used with it (VBR, -V 2, 44.1 kHz stereo, no tag).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createEncoder } from 'wasm-media-encoders';
import { describe, expect, it } from 'vitest';
import { lameEncode } from '../../worker/engine/lame.js';

const RATE = 44_100;

/** A few seconds of chords, a plucked bass and noise hits, from a fixed seed. */
function music(samples: number): { left: Float32Array; right: Float32Array } {
  const left = new Float32Array(samples);
  const right = new Float32Array(samples);
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 31 - 1;
  };
  const chord = [220, 261.63, 329.63, 392];
  for (let i = 0; i < samples; i++) {
    const t = i / RATE;
    const beat = t % 0.5;
    let x = 0;
    for (const f of chord) x += 0.08 * Math.sin(2 * Math.PI * f * t);
    x += 0.3 * Math.exp(-beat * 8) * Math.sin(2 * Math.PI * 55 * t);
    const hit = beat < 0.05 ? 0.25 * noise() * (1 - beat / 0.05) : 0;
    left[i] = x + hit;
    right[i] = x * 0.9 - hit * 0.5;
  }
  return { left, right };
}

async function wasmMediaEncoders(left: Float32Array, right: Float32Array): Promise<Buffer> {
  const encoder = await createEncoder(
    'audio/mpeg',
    readFileSync(createRequire(import.meta.url).resolve('wasm-media-encoders/wasm/mp3')),
  );
  encoder.configure({ sampleRate: RATE, channels: 2, vbrQuality: 2 });
  const chunks: Buffer[] = [];
  for (let i = 0; i < left.length; i += RATE)
    chunks.push(Buffer.from(encoder.encode([left.subarray(i, i + RATE), right.subarray(i, i + RATE)])));
  chunks.push(Buffer.from(encoder.finalize()));
  return Buffer.concat(chunks);
}

describe('LAME (our wasm build)', () => {
  it.each([
    ['4 s', 4 * RATE],
    ['a length off the block and frame grid', 2 * RATE + 1_234],
    ['under one frame', 500],
  ])('encodes %s byte for byte as wasm-media-encoders does', async (_, samples) => {
    const { left, right } = music(samples);
    const ours = Buffer.from(lameEncode(left, right, RATE, 2));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.equals(await wasmMediaEncoders(left, right))).toBe(true);
  });

  it('gives each encode a fresh encoder: the same input twice, the same bytes', () => {
    const { left, right } = music(RATE);
    const a = Buffer.from(lameEncode(left, right, RATE, 2));
    expect(Buffer.from(lameEncode(left, right, RATE, 2)).equals(a)).toBe(true);
  });

  it('refuses a sample rate it cannot encode, with an error', () => {
    const { left, right } = music(RATE);
    expect(() => lameEncode(left, right, 0, 2)).toThrow(/no such sample rate/);
    expect(() => lameEncode(left, right, 1, 2)).toThrow(/LAME: encoding failed/);
  });
});
