/**
 * A long MP3 encoded in two halves by two encoders and joined (worker/engine/mp3-halves.ts), so that two
 * engine threads can share it: the stream decodes, by ffmpeg and by mpg123, without an error, to the
 * WAV's length, and to what a single encoder's stream decodes to (the same samples, or within LAME's own
 * rounding far below hearing), around the join too; the frames before the join are a single encoder's,
 * byte for byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import type { Stereo } from '../../worker/engine/dsp.js';
import { encodeMp3, lameFrames } from '../../worker/engine/encode.js';
import { renderBeat } from '../../worker/engine/index.js';
import { type FrameHeader, mp3Frames, SAMPLES_PER_FRAME, withGaplessHeader } from '../../worker/engine/lame-tag.js';
import { joinHalves, MIN_SAMPLES, mp3Halves } from '../../worker/engine/mp3-halves.js';
import { decodeWithFfmpeg, decodeWithMpg123 } from '../helpers/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-mp3-halves-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = parseKey('A minor');
if (!key) throw new Error('key');

function decodeFileWithFfmpeg(name: string, mp3: Uint8Array): Stereo {
  const file = join(dir, `${name}.mp3`);
  writeFileSync(file, mp3);
  return decodeWithFfmpeg(file);
}

/** Signal to difference, in dB, of `b` against `a` (the signal) over [from, to), both channels. */
function snr(a: Stereo, b: Stereo, from: number, to: number): number {
  let signal = 0;
  let error = 0;
  for (const ch of ['left', 'right'] as const)
    for (let i = Math.max(0, from); i < Math.min(to, a[ch].length); i++) {
      signal += (a[ch][i] as number) ** 2;
      error += ((a[ch][i] as number) - (b[ch][i] as number)) ** 2;
    }
  return 10 * Math.log10(signal / Math.max(error, 1e-30));
}

/** The largest difference between `a` and `b`, both channels. */
function worst(a: Stereo, b: Stereo): number {
  let max = 0;
  for (const ch of ['left', 'right'] as const)
    for (let i = 0; i < Math.min(a[ch].length, b[ch].length); i++)
      max = Math.max(max, Math.abs((a[ch][i] as number) - (b[ch][i] as number)));
  return max;
}

const frameOf = (mp3: Buffer, f?: FrameHeader) => (f ? mp3.subarray(f.at, f.at + f.bytes) : Buffer.alloc(0));

async function check(name: string, mix: Stereo, opts: { enlarges?: boolean } = {}) {
  const samples = mix.left.length;
  const plan = mp3Halves(samples);
  if (!plan) throw new Error('expected a plan');
  const { mp3: halves } = await encodeMp3(mix);
  const whole = withGaplessHeader(await lameFrames(mix.left, mix.right), samples, true);

  // Joined, not encoded whole after all: the audio frames (frame 0 is the tag, whose CRCs differ) are
  // the single encoder's up to the join, but for the room at their end that took the tail's reservoir
  // (511 bytes at most: up to 8 frames back where frames are smallest, 32 kbps), and the tail's after it.
  const a = mp3Frames(halves);
  const b = mp3Frames(whole);
  expect(a.length).toBe(b.length);
  let same = 1;
  while (same < a.length && frameOf(halves, a[same]).equals(frameOf(whole, b[same]))) same++;
  expect(same - 1).toBeGreaterThanOrEqual(plan.tailFrom / SAMPLES_PER_FRAME - 8);
  expect(same).toBeLessThan(a.length - 1);
  // The head's last frame: a higher bitrate where the tail's reservoir needed more room than it had.
  const last = [a[same]?.bitrateKbps ?? 0, b[same]?.bitrateKbps ?? 0];
  if (opts.enlarges) expect(last[0]).toBeGreaterThan(last[1] as number);

  const byFfmpeg = decodeFileWithFfmpeg(`${name}-halves`, halves);
  const reference = decodeFileWithFfmpeg(`${name}-whole`, whole);
  expect(Math.abs(byFfmpeg.left.length - samples)).toBeLessThanOrEqual(44);
  expect(byFfmpeg.left.length).toBe(reference.left.length);
  // Identical, or LAME's quantization choices differing a little where its bit reservoirs or its
  // adaptation differ (the tail's encoder has seen less of the music): over the whole, under −60 dB;
  // over the ten frames either side of the join, 15 dB under MP3's own error there, and no further
  // from the mix than the single encoder's stream (0.5 dB); nowhere a quarter of what MP3 itself changes.
  const around = [(same - 10) * SAMPLES_PER_FRAME, (same + 10) * SAMPLES_PER_FRAME] as const;
  const codec = snr(mix, reference, ...around);
  expect(snr(reference, byFfmpeg, 0, samples)).toBeGreaterThan(60);
  expect(snr(reference, byFfmpeg, ...around)).toBeGreaterThan(codec + 15);
  expect(snr(mix, byFfmpeg, ...around)).toBeGreaterThan(codec - 0.5);
  expect(worst(reference, byFfmpeg)).toBeLessThan(worst(mix, reference) / 4);

  const byMpg123 = await decodeWithMpg123(halves);
  expect(byMpg123.errors).toEqual([]);
  expect(Math.abs((byMpg123.channelData[0] as Float32Array).length - samples)).toBeLessThanOrEqual(44);
}

describe('MP3 in two halves', () => {
  it('is planned only for 10 s and longer, the tail starting on the frame grid before 45 % of the way, the halves overlapping', () => {
    expect(mp3Halves(MIN_SAMPLES - 1)).toBeNull();
    for (const samples of [MIN_SAMPLES, 30 * 44_100, 300 * 44_100]) {
      const plan = mp3Halves(samples);
      if (!plan) throw new Error('expected a plan');
      expect(plan.tailFrom % SAMPLES_PER_FRAME).toBe(0);
      // The head's thread also writes the WAV and MIDI: the tail takes a little over half.
      expect(plan.tailFrom / samples).toBeGreaterThan(0.43);
      expect(plan.tailFrom / samples).toBeLessThan(0.46);
      // The halves overlap by the tail's warm-up and the frames where they may join.
      expect(plan.headTo - plan.tailFrom).toBeGreaterThan(20 * SAMPLES_PER_FRAME);
      expect(plan.headTo).toBeLessThan(samples);
    }
  });

  // dnb at 174 bpm, seed 1, 17 s: the tail's bit reservoir is fuller than the head's at the first frame
  // where they can join, so the head's last frame takes a higher bitrate to make room.
  it.each([
    ['trap', 140, 1, 30, false],
    ['lofi', 90, 1, 30, false],
    ['dnb', 174, 1, 17, true],
  ] as const)(
    '%s at %i bpm (seed %i, %i s) decodes as one encoder’s stream would',
    async (genre, bpm, seed, durationSec, enlarges) => {
      const { mix } = await renderBeat({ genre, bpm, key, mood: 'mellow', durationSec, seed });
      await check(`${genre}-${seed}`, mix, { enlarges });
    },
  );

  it('writes the other files once: while the tail is away, or after the MP3 when it is not', async () => {
    const tone = (seconds: number) => {
      const x = new Float32Array(seconds * 44_100).map((_, i) => 0.3 * Math.sin(i / 7));
      return { left: x, right: x };
    };
    for (const [seconds, handOver] of [
      [4, true],
      [12, false],
      [12, true],
    ] as const) {
      const events: string[] = [];
      const elsewhere = (left: Float32Array, right: Float32Array) => {
        if (!handOver) return null;
        events.push('offered');
        return async () => {
          events.push('tail needed');
          return lameFrames(left, right);
        };
      };
      const { mp3 } = await encodeMp3(tone(seconds), elsewhere, () => events.push('meanwhile'));
      expect(mp3.byteLength).toBeGreaterThan(1000);
      // A short one is never split, so nothing is offered; a split one not handed over writes its files last.
      const expected = seconds < 10 || !handOver ? ['meanwhile'] : ['offered', 'meanwhile', 'tail needed'];
      expect(events).toEqual(expected);
    }
  });

  it('does not join halves that cannot be joined (the whole is then encoded at once)', async () => {
    const { mix } = await renderBeat({ genre: 'lofi', bpm: 90, key, mood: 'mellow', durationSec: 12, seed: 4 });
    const plan = mp3Halves(mix.left.length);
    if (!plan) throw new Error('expected a plan');
    const head = await lameFrames(mix.left.subarray(0, plan.headTo), mix.right.subarray(0, plan.headTo));
    // A tail cut short of the window where the halves may join.
    const end = plan.tailFrom + 2 * SAMPLES_PER_FRAME;
    const short = await lameFrames(mix.left.subarray(plan.tailFrom, end), mix.right.subarray(plan.tailFrom, end));
    expect(joinHalves(head, short, plan)).toBeNull();
    const tail = await lameFrames(mix.left.subarray(plan.tailFrom), mix.right.subarray(plan.tailFrom));
    expect(joinHalves(head, tail, plan)).not.toBeNull();
  });

  it('joins as cleanly where the split falls in silence and the music comes back right after it', async () => {
    // LAME adapts to quiet passages slowly: the tail's encoder starts in silence here.
    const { mix } = await renderBeat({ genre: 'house', bpm: 124, key, mood: 'mellow', durationSec: 20, seed: 3 });
    const plan = mp3Halves(mix.left.length);
    if (!plan) throw new Error('expected a plan');
    const quiet = [plan.tailFrom - 44_100, plan.tailFrom + 6 * SAMPLES_PER_FRAME];
    mix.left.fill(0, quiet[0], quiet[1]);
    mix.right.fill(0, quiet[0], quiet[1]);
    await check('house-silent-split', mix);
  });
});
