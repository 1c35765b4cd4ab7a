/**
 * Every length a whole number of bars, so the loop point is seamless (issue 15, artefacts). A beat
 * lasts the fewest whole bars that hold the length asked for, to the sample, and what rings past its
 * last bar line (releases, reverb, echoes) is folded onto its start, so that played in a loop its end
 * runs into its start as one bar runs into the next. Measured on the WAVs as ffmpeg decodes them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Genre } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import { SAMPLE_RATE } from '../../worker/engine/dsp.js';
import { encodeWav } from '../../worker/engine/encode.js';
import { PARTS, renderBeat } from '../../worker/engine/index.js';
import { decodeWithFfmpeg } from '../helpers/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-bars-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ms = (t: number) => Math.round((t * SAMPLE_RATE) / 1000);
/** Below a 16-bit file's last bit: inaudible, and nothing to compare. */
const QUIET = 2 ** -16;
const db = (ratio: number) => 20 * Math.log10(ratio);

/** The largest |x[i+1] − x[i]| for i in [from, to), indices taken around the loop. */
function largestStep(x: Float32Array, from: number, to: number): number {
  const n = x.length;
  let largest = 0;
  for (let i = from; i < to; i++)
    largest = Math.max(largest, Math.abs((x[(((i + 1) % n) + n) % n] as number) - (x[((i % n) + n) % n] as number)));
  return largest;
}

/**
 * How far the largest step across the loop seam (from 1 ms before to AFTER_MS after) stands above the
 * signal's typical step there, in dB. Typical is the larger of what the signal was just doing (its
 * largest step in the 25 ms before: longer than a period of the lowest bass, whose saw resets step
 * far above its median step) and what a bar line inside does (the median, over them, of the largest
 * step from 25 ms before to AFTER_MS after): the downbeat's attacks (a kick) step by design at every
 * bar line, the seam's included. The groove humanises each onset by up to 10 ms (worker/engine/groove.ts):
 * a bar line's attacks land up to 10 ms late, and the first bar's cannot land before 0, so both windows
 * reach AFTER_MS past the line.
 */
const AFTER_MS = 12;
function seamDb(x: Float32Array, bars: number): number {
  const n = x.length;
  const seam = largestStep(x, n - ms(1), n + ms(AFTER_MS));
  if (seam <= QUIET) return -Infinity;
  const lines = Array.from({ length: bars - 1 }, (_, b) => {
    const at = Math.round(((b + 1) * n) / bars);
    return largestStep(x, at - ms(26), at + ms(AFTER_MS));
  }).sort((a, b) => a - b);
  const typical = Math.max(largestStep(x, n - ms(26), n - ms(1)), lines[lines.length >> 1] ?? 0, QUIET);
  return db(seam / typical);
}

function rms(x: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i] as number) ** 2;
  return Math.sqrt(sum / (to - from));
}

const key = parseKey('G minor');
if (!key) throw new Error('key');

// Long enough for intro and outro, and short enough to be one section that plays to the end.
const CASES: [Genre, number, number][] = [
  ['lofi', 85, 20],
  ['trap', 140, 8],
  ['house', 124, 16],
  ['ambient', 70, 20],
  ['dnb', 174, 6],
  ['pop', 110, 14],
  ['techno', 130, 5],
  ['hiphop', 92, 12],
];

describe('whole bars', () => {
  it.each(CASES)(
    '%s at %i bpm asked for %i s: whole bars to the sample, looping without a seam',
    async (genre, bpm, durationSec) => {
      const beat = await renderBeat({ genre, bpm, key, mood: 'dark', durationSec, seed: 9 });
      const barSec = (4 * 60) / bpm;
      const { bars } = beat.arrangement;
      expect((bars - 1) * barSec).toBeLessThan(durationSec);
      expect(bars * barSec).toBeGreaterThanOrEqual(durationSec);
      const frames = Math.round(bars * barSec * SAMPLE_RATE);
      expect(beat.durationSec).toBe(frames / SAMPLE_RATE);

      // The files a beat and its stems are stored as (tasks.ts).
      const files: [string, Buffer][] = [
        ['mix', encodeWav(beat.mix)],
        ...PARTS.map((p) => [p, encodeWav(beat.stem(p), 24)] as [string, Buffer]),
      ];
      let mix: Float32Array = new Float32Array();
      for (const [name, wav] of files) {
        const file = join(dir, `${genre}-${name}.wav`);
        writeFileSync(file, wav);
        const audio = decodeWithFfmpeg(file);
        if (name === 'mix') mix = audio.left;
        expect(audio.left.length, name).toBe(frames);
        for (const x of [audio.left, audio.right]) expect(seamDb(x, bars), `${name}: the seam`).toBeLessThanOrEqual(6);
      }

      // Nothing fades out: the last beat is as loud as the same beat a bar before (the outro is one section).
      const beatLength = Math.round(frames / bars / 4);
      const last = rms(mix, frames - beatLength, frames);
      const barBefore = rms(mix, frames - 5 * beatLength, frames - 4 * beatLength);
      expect(db(last / barBefore)).toBeGreaterThan(-6);
    },
  );
});
