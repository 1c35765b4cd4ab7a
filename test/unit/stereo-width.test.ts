/**
 * A stereo mix that survives mono (issue 15, stereo), on one seed per genre at 8 bars. ffmpeg is the
 * meter (test/helpers/sound.ts): `pan` to the mid (L + R)/2 and the side (L − R)/2, astats RMS of each;
 * ebur128 on the stereo WAV and on its mono fold-down played on both channels. A JS mid/side RMS on the
 * samples cross-checks. `npm run bench:sound` gives the same figures as distributions over seeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BPM, GENRES, type Genre } from '../../src/music/genres.js';
import { SOUND_GOALS as G, measureStereo, soundInput } from '../helpers/sound.js';

const dir = mkdtempSync(join(tmpdir(), 'dawg-stereo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Just under 8 bars at the genre's tempo: the render is the fewest whole bars that hold it. */
const eightBars = (genre: Genre) => (8 * 4 * 60) / DEFAULT_BPM[genre] - 0.01;

describe('stereo width', () => {
  it.each(GENRES.map((g) => [g]))(
    '%s: the side sits 10–18 dB under the mid, and the mono fold-down keeps the loudness',
    async (genre: Genre) => {
      const f = await measureStereo(soundInput(genre, 7, eightBars(genre)), dir);
      // Every message carries both figures, so a failing render reports all of its width at once.
      const figures = `${genre}: side ${f.sideBelowMidDb.toFixed(2)} dB below mid (JS ${f.sideBelowMidDbJs.toFixed(2)}), mono fold ${f.monoFoldLu.toFixed(2)} LU`;
      // The two meters agree (the WAV's 16-bit rounding aside).
      expect(Math.abs(f.sideBelowMidDb - f.sideBelowMidDbJs), figures).toBeLessThan(0.1);
      expect(f.sideBelowMidDb, figures).toBeGreaterThanOrEqual(G.sideBelowMidMinDb);
      expect(f.sideBelowMidDb, figures).toBeLessThanOrEqual(G.sideBelowMidMaxDb);
      expect(f.monoFoldLu, figures).toBeLessThanOrEqual(G.monoFoldMaxLu);
    },
    60_000,
  );
});
