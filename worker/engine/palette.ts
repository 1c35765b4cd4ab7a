/**
 * The sound of a render, chosen by seed around the genre's: the kit's tuning, how bright the tonal
 * parts are, how soft their envelopes, how wide their detune. Two seeds of a genre sound related,
 * not the same. The ranges are narrow enough that the balance goals hold for every draw
 * (test/unit/mix-balance.test.ts).
 */
import type { Genre } from '../../src/music/genres.js';
import type { Palette } from './arrangement.js';
import type { Rng } from './rng.js';

/** Per genre: the kick's body (Hz) and how wide the detune may go (cents). */
const KIT: Record<Genre, { kickHz: [number, number]; detune: [number, number] }> = {
  lofi: { kickHz: [44, 54], detune: [3, 9] },
  hiphop: { kickHz: [44, 56], detune: [2, 8] },
  trap: { kickHz: [46, 58], detune: [4, 12] },
  house: { kickHz: [46, 56], detune: [6, 14] },
  techno: { kickHz: [47, 54], detune: [6, 16] },
  dnb: { kickHz: [48, 60], detune: [6, 14] },
  ambient: { kickHz: [44, 50], detune: [8, 18] },
  pop: { kickHz: [46, 56], detune: [4, 12] },
};

const between = (rng: Rng, [lo, hi]: [number, number]) => lo + (hi - lo) * rng.next();
const round = (x: number, step: number) => Math.round(x / step) * step;

export function paletteFor(genre: Genre, rng: Rng): Palette {
  const kit = KIT[genre];
  return {
    kickHz: round(between(rng, kit.kickHz), 0.5),
    snareHz: round(between(rng, [165, 215]), 1),
    hatPitch: round(between(rng, [-2, 2]), 0.25),
    filter: round(between(rng, [0.8, 1.25]), 0.01),
    envelope: round(between(rng, [0.7, 1.4]), 0.01),
    detune: round(between(rng, kit.detune), 0.5),
  };
}
