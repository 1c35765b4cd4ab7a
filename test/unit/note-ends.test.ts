/**
 * No click where a note ends (issue 15, artefacts): every voice stops at zero, so the step between
 * adjacent samples where a note or hit ends is no larger than the signal's typical step there. The
 * kick used to stop at a fifth of its level: a step 14–36 dB above the signal's, in 7 genres of 8.
 *
 * "Typical" is the largest step of the 25 ms before the end (longer than a period of the lowest bass
 * note): saws, squares and noise step far above the stem's median step in every period, note end or
 * not, so only a step that stands out from what the signal was just doing is a click.
 */
import { describe, expect, it } from 'vitest';
import { GENRES, type Genre } from '../../src/music/genres.js';
import { parseKey } from '../../src/music/keys.js';
import { type Arrangement, PARTS, type PartName } from '../../worker/engine/arrangement.js';
import { compose } from '../../worker/engine/composer.js';
import { SAMPLE_RATE, type Stereo } from '../../worker/engine/dsp.js';
import { renderPart, renderStems, toneFor } from '../../worker/engine/render.js';
import { STYLES } from '../../worker/engine/styles.js';
import { drumLengthSec } from '../../worker/engine/drum-synth.js';

const ms = (t: number) => Math.round((t * SAMPLE_RATE) / 1000);
/** Below a 16-bit file's last bit: inaudible, and nothing to compare. */
const QUIET = 2 ** -16;

interface Voice {
  start: number;
  end: number;
}

/** Where each note or hit of `part` starts and stops sounding, in samples (as render.ts places them). */
function voices(a: Arrangement, part: PartName): Voice[] {
  const secPerBeat = 60 / a.bpm;
  const at = (beats: number) => Math.round(beats * secPerBeat * SAMPLE_RATE);
  if (part === 'drums')
    return a.drums.map((h) => {
      const start = at(h.time);
      return {
        start,
        end: start + Math.floor(drumLengthSec(h.drum, STYLES[a.genre], (h.duration ?? 0) * secPerBeat) * SAMPLE_RATE),
      };
    });
  const release = toneFor(a, part).release;
  return a[part].map((n) => {
    const start = at(n.time);
    return { start, end: start + Math.floor((n.duration * secPerBeat + release) * SAMPLE_RATE) };
  });
}

/** The largest |x[i+1] − x[i]| of either channel for i in [from, to), indices taken around the loop. */
function largestStep(s: Stereo, from: number, to: number): number {
  const n = s.left.length;
  let largest = 0;
  for (const x of [s.left, s.right])
    for (let i = from; i < to; i++) {
      const a = x[((i % n) + n) % n] as number;
      const b = x[(((i + 1) % n) + n) % n] as number;
      largest = Math.max(largest, Math.abs(b - a));
    }
  return largest;
}

/** The worst note end of a stem: its largest step in [end − 1 ms, end + 2 ms) over the 25 ms before, in dB. */
function worstEnd(stem: Stereo, all: Voice[]): { db: number; at: number } {
  const n = stem.left.length;
  let worst = { db: -Infinity, at: -1 };
  for (const { end } of all) {
    // Where a voice is cut by the render's end, it is that cut being measured, at its place in the loop.
    const e = end % n;
    // A voice starting in the 25 ms before or in the window is in its attack, its steps growing by design (a
    // new bass note's first saw resets): the steps before are no baseline, and this is not an end to judge.
    if (all.some(({ start }) => start >= e - ms(26) && start <= e + ms(2))) continue;
    const peak = largestStep(stem, e - ms(1), e + ms(2));
    if (peak <= QUIET) continue;
    const db = 20 * Math.log10(peak / Math.max(largestStep(stem, e - ms(26), e - ms(1)), QUIET));
    if (db > worst.db) worst = { db, at: e };
  }
  return worst;
}

const key = parseKey('E minor');
if (!key) throw new Error('key');
const BPM: Partial<Record<Genre, number>> = { dnb: 174, trap: 140, house: 124, techno: 130 };

/** Each part as its stem, and each drum alone as well: hats every 16th would hide a kick's click in the drum stem. */
async function layers(a: Arrangement): Promise<{ name: string; stem: Stereo; voices: Voice[] }[]> {
  const stems = await renderStems(a);
  const out: { name: string; stem: Stereo; voices: Voice[] }[] = PARTS.map((part) => ({
    name: part,
    stem: stems[part],
    voices: voices(a, part),
  }));
  for (const drum of new Set(a.drums.map((h) => h.drum))) {
    const alone = { ...a, drums: a.drums.filter((h) => h.drum === drum) };
    out.push({ name: drum, stem: renderPart(alone, 'drums'), voices: voices(alone, 'drums') });
  }
  return out;
}

describe('note ends', () => {
  it.each(GENRES.map((g) => [g]))(
    '%s: no part steps more than 6 dB above its typical step where a note ends',
    async (genre: Genre) => {
      for (const seed of [3, 11]) {
        // Lo-fi's crackle is clicks on purpose, at random times: judged on its own below.
        const a = { ...compose({ genre, bpm: BPM[genre] ?? 90, key, mood: 'dark', durationSec: 20, seed }), vinyl: false };
        for (const { name, stem, voices } of await layers(a)) {
          const worst = worstEnd(stem, voices);
          expect(worst.db, `${genre} seed ${seed} ${name}: ${worst.db.toFixed(1)} dB at sample ${worst.at}`).toBeLessThanOrEqual(
            6,
          );
        }
      }
    },
  );

  it('lo-fi crackle: present but quiet, peaks between −60 and −26 dBFS of the drum stem', () => {
    const a = compose({ genre: 'lofi', bpm: 90, key, mood: 'dark', durationSec: 20, seed: 3 });
    expect(a.vinyl).toBe(true);
    const peakDb = (s: Stereo) => {
      let peak = 0;
      for (const x of [s.left, s.right]) for (const v of x) peak = Math.max(peak, Math.abs(v));
      return 20 * Math.log10(peak);
    };
    const crackle = peakDb(renderPart({ ...a, drums: [] }, 'drums'));
    expect(crackle).toBeGreaterThan(-60);
    expect(crackle).toBeLessThan(-26);
    expect(peakDb(renderPart({ ...a, vinyl: false, drums: [] }, 'drums'))).toBe(-Infinity);
  });

  it('trap: an 808 glide keeps its level across the join (one voice sliding, not a new one struck)', () => {
    let joins = 0;
    for (const seed of [1, 2, 3, 4]) {
      const a = compose({ genre: 'trap', bpm: 140, key, mood: 'dark', durationSec: 20, seed });
      // Without kicks, so that the duck does not move the level.
      const bass = renderPart({ ...a, drums: [] }, 'bass');
      const rms = (from: number, to: number) => {
        let sum = 0;
        for (let i = from; i < to; i++) sum += (bass.left[i] as number) ** 2;
        return Math.sqrt(sum / (to - from));
      };
      for (const n of a.bass.filter((n) => n.glideFrom !== undefined)) {
        const at = Math.round(((n.time * 60) / a.bpm) * SAMPLE_RATE);
        if (at + ms(30) >= bass.left.length) continue;
        joins++;
        const db = 20 * Math.log10(rms(at, at + ms(30)) / rms(at - ms(30), at));
        expect(Math.abs(db), `seed ${seed} glide at beat ${n.time.toFixed(2)}: ${db.toFixed(2)} dB`).toBeLessThan(1.5);
      }
    }
    expect(joins).toBeGreaterThan(3);
  });
});
