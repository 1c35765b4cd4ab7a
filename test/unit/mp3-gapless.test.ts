/**
 * The MP3 in step with the WAV (issue 15, artefacts): a gapless header (an Info frame with LAME's
 * encoder delay and padding) makes a decoder drop what LAME adds before and after the music, so the
 * MP3 decodes to the WAV's samples, neither late nor long. Measured with ffmpeg, which the engine
 * does not use, and with mpg123 (what the upload path decodes MP3 with).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import { beatFiles } from '../../worker/engine/tasks.js';
import { decodeWithFfmpeg, decodeWithMpg123 } from '../helpers/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-mp3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ONE_MS = 44; // samples at 44.1 kHz

/** The lag (in samples, within ±maxLag) at which `b` best matches `a`: b[i + lag] ≈ a[i]. */
function bestLag(a: Float32Array, b: Float32Array, maxLag: number): number {
  // One second from 1 s in, where every genre is playing.
  const from = 44_100;
  const to = Math.min(a.length, b.length - maxLag, 2 * 44_100);
  let best = -Infinity;
  let lag = 0;
  for (let l = -maxLag; l <= maxLag; l++) {
    let sum = 0;
    for (let i = from; i < to; i++) sum += (a[i] as number) * (b[i + l] as number);
    if (sum > best) {
      best = sum;
      lag = l;
    }
  }
  return lag;
}

describe('MP3', () => {
  it.each([
    ['lofi', 85],
    ['dnb', 174],
  ] as const)('%s at %i bpm decodes to the WAV sample for sample in length and time (ffmpeg, mpg123)', async (genre, bpm) => {
    const key = parseKey('F minor');
    if (!key) throw new Error('key');
    const beat = await beatFiles({ genre, bpm, key, mood: 'dark', durationSec: 6, seed: 5 }, () => {});
    const mp3File = join(dir, `${genre}.mp3`);
    const wavFile = join(dir, `${genre}.wav`);
    writeFileSync(mp3File, beat.mp3);
    writeFileSync(wavFile, beat.wav);
    const wav = decodeWithFfmpeg(wavFile).left;

    const byFfmpeg = decodeWithFfmpeg(mp3File).left;
    expect(Math.abs(byFfmpeg.length - wav.length)).toBeLessThanOrEqual(ONE_MS);
    expect(Math.abs(bestLag(wav, byFfmpeg, 2000))).toBeLessThanOrEqual(ONE_MS);

    const byMpg123 = await decodeWithMpg123(beat.mp3);
    expect(byMpg123.errors).toEqual([]);
    const left = byMpg123.channelData[0] as Float32Array;
    expect(Math.abs(left.length - wav.length)).toBeLessThanOrEqual(ONE_MS);
    expect(Math.abs(bestLag(wav, left, 2000))).toBeLessThanOrEqual(ONE_MS);
  });
});
