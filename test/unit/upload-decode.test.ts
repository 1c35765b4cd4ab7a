/**
 * The upload decoder (worker/uploads/decode.ts) on files ffmpeg makes: each format decoded to
 * 44.1 kHz stereo at the right length, and each way a file can lie or break refused with its reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../scripts/lib/ffmpeg.mjs';
import { encodeWav } from '../../worker/engine/encode.js';
import { renderBeat } from '../../worker/engine/index.js';
import { decodeUpload, sniff, UploadRefused } from '../../worker/uploads/decode.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `seconds` of a 440 Hz tone (left) and 660 Hz (right) at `rate`, through ffmpeg into `ext`. */
function tone(ext: string, seconds: number, rate = 48_000, extra: string[] = []): Uint8Array {
  const out = join(dir, `tone-${seconds}-${rate}.${ext}`);
  execFileSync(ffmpegPath(), [
    '-y',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `sine=f=440:d=${seconds}:r=${rate}`,
    '-f',
    'lavfi',
    '-i',
    `sine=f=660:d=${seconds}:r=${rate}`,
    '-filter_complex',
    'amerge=inputs=2',
    ...extra,
    out,
  ]);
  return new Uint8Array(readFileSync(out));
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'decoded',
    (err) => (err instanceof UploadRefused ? err.message : `not a refusal: ${err}`),
  );

describe('decodeUpload', () => {
  it.each([
    ['wav', []],
    ['mp3', ['-c:a', 'libmp3lame']],
    ['flac', []],
    ['ogg', ['-c:a', 'libvorbis']],
  ] as const)('decodes %s at 48 kHz into 44.1 kHz stereo of the same length', async (ext, extra) => {
    const decoded = await decodeUpload(tone(ext, 3, 48_000, [...extra]), ext, 900);
    expect(decoded.sampleRate).toBe(48_000);
    expect(decoded.channels).toBe(2);
    expect(decoded.durationSec).toBeGreaterThan(2.99);
    expect(decoded.durationSec).toBeLessThan(3.06);
    expect(decoded.audio.left.length / 44_100).toBeCloseTo(decoded.durationSec, 1);
    // The two sides stay apart (a 440 Hz left is not a 660 Hz right).
    let diff = 0;
    for (let i = 10_000; i < 20_000; i++)
      diff += Math.abs((decoded.audio.left[i] as number) - (decoded.audio.right[i] as number));
    expect(diff / 10_000).toBeGreaterThan(0.05);
  });

  it('keeps a 44.1 kHz WAV sample for sample', async () => {
    const bytes = tone('wav', 1, 44_100, ['-c:a', 'pcm_f32le']);
    const decoded = await decodeUpload(bytes, 'wav', 900);
    expect(decoded.audio.left.length).toBe(44_100);
  });

  it('refuses what is not the declared audio, truncated files and audio past the limit', async () => {
    const wav = tone('wav', 2, 44_100);
    const flac = tone('flac', 2, 44_100);
    const ogg = tone('ogg', 2, 44_100, ['-c:a', 'libvorbis']);
    const mp3 = tone('mp3', 2, 44_100, ['-c:a', 'libmp3lame']);
    expect(await refusal(decodeUpload(new TextEncoder().encode('hello, not audio'.repeat(40)), 'wav', 900))).toBe(
      'the file is not audio we can read: send WAV, MP3, FLAC or OGG',
    );
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(200).fill(0)]);
    expect(await refusal(decodeUpload(zip, 'wav', 900))).toMatch(/\(it is a ZIP archive\)/);
    expect(await refusal(decodeUpload(mp3, 'flac', 900))).toBe('the file is MP3, but its content type said FLAC');
    expect(await refusal(decodeUpload(wav.subarray(0, wav.length - 1000), 'wav', 900))).toMatch(/WAV file is truncated/);
    expect(await refusal(decodeUpload(flac.subarray(0, flac.length / 2), 'flac', 900))).toMatch(/FLAC file is truncated/);
    expect(await refusal(decodeUpload(ogg.subarray(0, ogg.length - 500), 'ogg', 900))).toMatch(/OGG file is truncated/);
    expect(await refusal(decodeUpload(wav.subarray(0, 44), 'wav', 900))).toMatch(/truncated|holds no audio/);
    expect(await refusal(decodeUpload(tone('flac', 5, 44_100), 'flac', 3))).toBe('the audio is longer than 3 seconds');
  });

  it('accepts a valid FLAC whose last frame the wasm decoder drops (an engine beat through ffmpeg)', async () => {
    const beat = await renderBeat({
      genre: 'house',
      bpm: 124,
      key: { pitchClass: 9, tonic: 'A', mode: 'minor' },
      mood: 'mellow',
      durationSec: 12,
      seed: 2,
    });
    writeFileSync(join(dir, 'beat.wav'), encodeWav(beat.mix));
    execFileSync(ffmpegPath(), ['-y', '-loglevel', 'error', '-i', join(dir, 'beat.wav'), '-ar', '48000', join(dir, 'beat.flac')]);
    const decoded = await decodeUpload(new Uint8Array(readFileSync(join(dir, 'beat.flac'))), 'flac', 900);
    expect(decoded.durationSec).toBeGreaterThan(11.8);
  });

  it('sniffs the format from the bytes, not the name', () => {
    expect(sniff(tone('wav', 1)).format).toBe('wav');
    expect(sniff(new Uint8Array([0x50, 0x4b, 0x03, 0x04])).name).toBe('a ZIP archive');
    expect(sniff(new Uint8Array(100)).format).toBeNull();
  });
});
