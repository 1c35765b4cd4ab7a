/**
 * A long MP3 encoded in two halves by two encoders and joined (worker/engine/mp3-halves.ts), so that two
 * engine threads can share it: the stream decodes, by ffmpeg and by mpg123, without an error, to the
 * WAV's length, and to what a single encoder's stream decodes to (the same samples, or within LAME's own
 * rounding far below hearing); the frames before the join are a single encoder's, byte for byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MPEGDecoder } from 'mpg123-decoder';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import { encodeMp3, lameFrames } from '../../worker/engine/encode.js';
import { renderBeat } from '../../worker/engine/index.js';
import { type FrameHeader, mp3Frames, SAMPLES_PER_FRAME, withGaplessHeader } from '../../worker/engine/lame-tag.js';
import { MIN_SAMPLES, mp3Halves } from '../../worker/engine/mp3-halves.js';
import { decodeWithFfmpeg } from '../helpers/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-mp3-halves-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = parseKey('A minor');
if (!key) throw new Error('key');

function decodeBoth(name: string, mp3: Uint8Array) {
  const file = join(dir, `${name}.mp3`);
  writeFileSync(file, mp3);
  return decodeWithFfmpeg(file).left;
}

describe('MP3 in two halves', () => {
  it('is planned only for 10 s and longer, the tail starting on the frame grid before the middle', () => {
    expect(mp3Halves(MIN_SAMPLES - 1)).toBeNull();
    for (const samples of [MIN_SAMPLES, 30 * 44_100, 300 * 44_100]) {
      const plan = mp3Halves(samples);
      expect(plan).not.toBeNull();
      if (!plan) continue;
      expect(plan.tailFrom % SAMPLES_PER_FRAME).toBe(0);
      expect(plan.tailFrom).toBeLessThan(samples / 2);
      // The head runs past the middle, over the frames where the halves may join.
      expect(plan.headTo).toBeGreaterThan(samples / 2 + 20 * SAMPLES_PER_FRAME);
      expect(plan.headTo).toBeLessThan(samples);
    }
  });

  // pop at 104 bpm, seed 2: the tail's bit reservoir is fuller than the head's at every frame of the
  // window, so the head's last frame takes a higher bitrate to make room.
  it.each([
    ['trap', 140, 1, 30],
    ['lofi', 90, 1, 30],
    ['pop', 104, 2, 17],
  ] as const)('%s at %i bpm (seed %i, %i s) decodes as one encoder’s stream would', async (genre, bpm, seed, durationSec) => {
    const { mix } = await renderBeat({ genre, bpm, key, mood: 'mellow', durationSec, seed });
    const samples = mix.left.length;
    const plan = mp3Halves(samples);
    if (!plan) throw new Error('expected a plan');
    const halves = await encodeMp3(mix);
    const whole = withGaplessHeader(await lameFrames(mix.left, mix.right), samples, true);

    // Frames before the join are the single encoder's; the frame count is the same.
    const a = mp3Frames(halves);
    const b = mp3Frames(whole);
    expect(a.length).toBe(b.length);
    const bytes = (mp3: Buffer, f?: FrameHeader) => (f ? mp3.subarray(f.at, f.at + f.bytes) : Buffer.alloc(0));
    // Frame 0 is the tag (its CRCs differ); the audio frames match up to the join, after the tail's start.
    let same = 1;
    while (same < a.length && bytes(halves, a[same]).equals(bytes(whole, b[same]))) same++;
    expect((same - 1) * SAMPLES_PER_FRAME).toBeGreaterThan(plan.tailFrom);
    expect(same).toBeLessThan(a.length - 1);

    const byFfmpeg = decodeBoth(`${genre}-halves`, halves);
    const reference = decodeBoth(`${genre}-whole`, whole);
    expect(Math.abs(byFfmpeg.length - samples)).toBeLessThanOrEqual(44);
    expect(byFfmpeg.length).toBe(reference.length);
    let error = 0;
    let signal = 0;
    let worst = 0;
    let codec = 0; // the single encoder's own largest error against the mix
    for (let i = 0; i < Math.min(reference.length, samples); i++) {
      const d = (byFfmpeg[i] as number) - (reference[i] as number);
      error += d * d;
      signal += (reference[i] as number) ** 2;
      worst = Math.max(worst, Math.abs(d));
      codec = Math.max(codec, Math.abs((reference[i] as number) - (mix.left[i] as number)));
    }
    // Identical, or LAME's quantization choices differing a little where its bit reservoirs differ:
    // over the whole, under −60 dB, and nowhere a quarter of what MP3 itself changes.
    expect(10 * Math.log10(signal / Math.max(error, 1e-30))).toBeGreaterThan(60);
    expect(worst).toBeLessThan(codec / 4);

    const decoder = new MPEGDecoder();
    await decoder.ready;
    const byMpg123 = decoder.decode(halves);
    decoder.free();
    expect(byMpg123.errors).toEqual([]);
    expect(Math.abs((byMpg123.channelData[0] as Float32Array).length - samples)).toBeLessThanOrEqual(44);
  });
});
