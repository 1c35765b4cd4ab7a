/**
 * renderTones shares a pitch's oscillator signal among the notes that play it on one voice
 * (worker/engine/synth.ts). What it writes must be what each note written alone gives, bit for bit:
 * every voice kind (spread pads leaning either way, a driven bass, a reese's sub, a plain lead), a
 * pitch whose longer note comes after its shorter ones, notes cut off by the buffer's end, sliding
 * notes, and more pitches than the shared budget holds.
 */
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import { compose } from '../../worker/engine/composer.js';
import { SAMPLE_RATE, type Stereo, stereo } from '../../worker/engine/dsp.js';
import { toneFor } from '../../worker/engine/render.js';
import type { Note } from '../../worker/engine/arrangement.js';
import { type ToneNote, type ToneOptions, renderTone, renderTones } from '../../worker/engine/synth.js';

/** Each note on its own (a list of one shares nothing), added in the same order. */
function alone(length: number, notes: readonly ToneNote[]): Stereo {
  const out = stereo(length);
  for (const n of notes) renderTone(out, n.start, n.lengthSec, n.midi, n.velocity, n.tone, n.shape);
  return out;
}

function shared(length: number, notes: readonly ToneNote[]): Stereo {
  const out = stereo(length);
  renderTones(out, notes);
  return out;
}

/** Same samples, to the bit; the first difference is reported. */
function expectSameBits(a: Stereo, b: Stereo): void {
  for (const side of ['left', 'right'] as const) {
    const x = new Uint32Array(a[side].buffer);
    const y = new Uint32Array(b[side].buffer);
    const at = x.findIndex((v, i) => v !== y[i]);
    expect(at, `${side}: first different sample`).toBe(-1);
  }
}

const sec = (s: number) => Math.round(s * SAMPLE_RATE);

function keyOf(name: string) {
  const key = parseKey(name);
  if (!key) throw new Error(`not a key: ${name}`);
  return key;
}

describe('renderTones', () => {
  for (const genre of ['lofi', 'trap', 'dnb', 'house'] as const) {
    it(`${genre}: a part's notes, shared or each alone, give the same samples`, () => {
      const a = compose({ genre, bpm: 92, key: keyOf('A minor'), mood: 'mellow', durationSec: 12, seed: 3 });
      const at = (beats: number) => Math.round(((beats * 60) / a.bpm) * SAMPLE_RATE);
      const left = toneFor(a, 'chords');
      const right = { ...left, pan: -left.pan };
      const bass = toneFor(a, 'bass');
      const lead = toneFor(a, 'lead');
      const play = (n: Note, tone: ToneOptions, i = 0): ToneNote => ({
        start: at(n.time),
        lengthSec: (n.duration * 60) / a.bpm,
        midi: n.midi,
        velocity: n.velocity,
        tone: tone === left && i % 2 ? right : tone,
        shape: n,
      });
      const notes = [
        ...a.chords.map((n, i) => play(n, left, i)),
        ...a.bass.map((n) => play(n, bass)),
        ...a.lead.map((n) => play(n, lead)),
      ];
      // The buffer ends before the last notes ring out.
      const length = at(a.bars * 4) - sec(0.5);
      const played = notes.filter((n) => n.start < length);
      expect(new Set(played.map((n) => n.midi)).size).toBeLessThan(played.length / 2); // pitches do repeat
      expectSameBits(shared(length, played), alone(length, played));
    });
  }

  it('a pitch whose longest note comes last, notes past the end, and sliding notes', () => {
    const a = compose({ genre: 'trap', bpm: 140, key: keyOf('C minor'), mood: 'dark', durationSec: 8, seed: 9 });
    const pad = { ...toneFor(a, 'chords'), drive: 1.2 };
    const bass = toneFor(a, 'bass');
    const notes: ToneNote[] = [
      { start: 0, lengthSec: 0.1, midi: 60, velocity: 0.5, tone: pad },
      { start: sec(0.05), lengthSec: 0.3, midi: 60, velocity: 0.9, tone: pad },
      { start: sec(0.4), lengthSec: 1.2, midi: 60, velocity: 0.7, tone: pad, shape: { bright: 1.3 } },
      { start: sec(0.5), lengthSec: 2, midi: 60, velocity: 0.6, tone: pad },
      { start: sec(0.6), lengthSec: 0.5, midi: 36, velocity: 1, tone: bass, shape: { slides: [{ atSec: 0.2, midi: 41 }] } },
      { start: sec(0.9), lengthSec: 0.5, midi: 36, velocity: 1, tone: bass, shape: { slides: [{ atSec: 0.1, midi: 34 }] } },
      { start: sec(1.1), lengthSec: 0.5, midi: 36, velocity: 0.8, tone: bass },
      { start: sec(2.8), lengthSec: 1, midi: 60, velocity: 0.4, tone: pad },
      { start: sec(2.9), lengthSec: 1, midi: 36, velocity: 0.8, tone: bass },
    ];
    expectSameBits(shared(sec(3), notes), alone(sec(3), notes));
  });

  it('more pitches than the shared budget holds: the rest are computed alone, with the same samples', () => {
    const a = compose({ genre: 'ambient', bpm: 70, key: keyOf('D major'), mood: 'calm', durationSec: 8, seed: 5 });
    const pad = toneFor(a, 'chords');
    // 24 pitches twice, 8 s each: 24 × 0.35 M samples, more than SHARED_SAMPLES (3 M).
    const notes: ToneNote[] = [0, 1].flatMap((round) =>
      Array.from({ length: 24 }, (_, k) => ({
        start: sec(round + k * 0.01),
        lengthSec: 8,
        midi: 48 + k,
        velocity: 0.5 + round * 0.3,
        tone: pad,
      })),
    );
    expectSameBits(shared(sec(10), notes), alone(sec(10), notes));
  });
});
