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
import { parseKey } from '../../src/music/keys.js';
import { composeOnGrid } from '../../worker/engine/composer.js';
import { type Stereo, noiseTable, reverbInto, stereo } from '../../worker/engine/dsp.js';
import { renderPart, toneFor } from '../../worker/engine/render.js';
import { renderTone } from '../../worker/engine/synth.js';
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

  /** Pearson correlation of left and right over [from, to). */
  const correlation = (s: Stereo, from = 0, to = s.left.length) => {
    let lr = 0;
    let ll = 0;
    let rr = 0;
    for (let i = from; i < to; i++) {
      const l = s.left[i] as number;
      const r = s.right[i] as number;
      lr += l * r;
      ll += l * l;
      rr += r * r;
    }
    return lr / Math.sqrt(ll * rr);
  };
  const key = parseKey('A minor');
  if (!key) throw new Error('key');

  it('decorrelated where it should be: the reverb tail, the hats, the pads; the kick and bass in the centre', () => {
    // A burst of noise through the reverb: its tail on the left and on the right hardly correlate.
    const input = new Float32Array(2 * 44_100);
    input.set(noiseTable(4410, 3));
    const tail = stereo(input.length);
    reverbInto(input, tail, 1);
    expect(Math.abs(correlation(tail, 4410))).toBeLessThan(0.3);
    const a = composeOnGrid({ genre: 'dnb', bpm: 174, key, mood: 'mellow', durationSec: 20, seed: 4 });
    const hats = renderPart({ ...a, drums: a.drums.filter((h) => h.drum === 'hat') }, 'drums');
    expect(correlation(hats)).toBeLessThan(0.9);
    // A pad note: its two detuned oscillators spread across the sides, against the same note not spread.
    const pad = (spread: number) => {
      const out = stereo(44_100);
      renderTone(out, 0, 0.9, 57, 1, { ...toneFor(a, 'chords'), pan: 0, spread });
      return correlation(out);
    };
    expect(pad(0)).toBeGreaterThan(0.999);
    expect(pad(toneFor(a, 'chords').spread ?? 0)).toBeLessThan(0.9);
    const kicks = renderPart({ ...a, drums: a.drums.filter((h) => h.drum === 'kick') }, 'drums');
    expect(correlation(kicks)).toBeGreaterThan(0.999);
    expect(correlation(renderPart(a, 'bass'))).toBeGreaterThan(0.999);
  });
});
