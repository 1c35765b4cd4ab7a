/**
 * renderTones shares a signal among the notes whose oscillators and low-pass are the same
 * (worker/engine/synth.ts). What it writes must be what the engine wrote before it shared anything
 * (test/helpers/tone-reference.ts, each note alone), bit for bit: chord voices leaning either way,
 * basses (driven, a reese's two saws, an 808's legato runs), a plain lead, a pitch whose longer note
 * comes after its shorter ones, notes cut off by the buffer's end, sliding notes, and more signal than
 * the shared budget holds. And it must share: how many notes were played from a shared signal, and
 * how much of the budget they used, are checked too.
 */
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import type { Note } from '../../worker/engine/arrangement.js';
import { compose } from '../../worker/engine/composer.js';
import { SAMPLE_RATE, type Stereo, stereo } from '../../worker/engine/dsp.js';
import { legatoRuns, toneFor, toneNote } from '../../worker/engine/render.js';
import { SHARED_SAMPLES, type ToneNote, type ToneOptions, type ToneSharing, renderTones } from '../../worker/engine/synth.js';
import { referenceTone } from '../helpers/tone-reference.js';

/** Each note on its own, as the engine wrote it before, added in the same order. */
function reference(length: number, notes: readonly ToneNote[]): Stereo {
  const out = stereo(length);
  for (const n of notes) referenceTone(out, n.start, n.lengthSec, n.midi, n.velocity, n.tone, n.shape);
  return out;
}

function shared(length: number, notes: readonly ToneNote[]): { out: Stereo; sharing: ToneSharing } {
  const out = stereo(length);
  const sharing = { shared: 0, alone: 0, used: 0 };
  renderTones(out, notes, sharing);
  return { out, sharing };
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
    it(`${genre}: a part's notes, shared, give the samples of each note alone`, () => {
      const a = compose({ genre, bpm: 92, key: keyOf('A minor'), mood: 'mellow', durationSec: 12, seed: 3 });
      const secPerBeat = 60 / a.bpm;
      const at = (beats: number) => Math.round(beats * secPerBeat * SAMPLE_RATE);
      const left = toneFor(a, 'chords');
      const right = { ...left, pan: -left.pan };
      const play = (n: Note, tone: ToneOptions) => toneNote(n, tone, secPerBeat);
      const bass = toneFor(a, 'bass');
      const notes = [
        ...a.chords.map((n, i) => play(n, i % 2 ? right : left)),
        ...legatoRuns(a.bass, secPerBeat).map(({ note, lengthSec, shape }) => ({ ...play(note, bass), lengthSec, shape })),
        ...a.lead.map((n) => play(n, toneFor(a, 'lead'))),
      ];
      // The buffer ends before the last notes ring out.
      const length = at(a.bars * 4) - sec(0.5);
      const played = notes.filter((n) => n.start < length);
      const { out, sharing } = shared(length, played);
      expectSameBits(out, reference(length, played));
      expect(sharing.shared + sharing.alone).toBe(played.length);
      expect(sharing.shared, `${genre}: notes played from a shared signal`).toBeGreaterThan(played.length / 2);
    });
  }

  it('a pitch whose longest note comes last, notes past the end, sliding notes, and notes longer than the kept scratch', () => {
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
    // Computed alone and longer than the scratch a thread keeps (10 s): one side, then two, the second cut off by the end.
    notes.push(
      { start: sec(0.2), lengthSec: 11, midi: 38, velocity: 0.9, tone: bass },
      { start: sec(0.3), lengthSec: 12, midi: 62, velocity: 0.5, tone: pad },
    );
    const { out, sharing } = shared(sec(12.1), notes);
    expectSameBits(out, reference(sec(12.1), notes));
    // The pad's plain pitch 60 four times and the bass's 36 twice share; the bright one and the slides do not.
    expect(sharing).toMatchObject({ shared: 6, alone: 5 });
  });

  it('more signal than the shared budget holds: the rest is computed alone, with the same samples', () => {
    const a = compose({ genre: 'ambient', bpm: 70, key: keyOf('D major'), mood: 'calm', durationSec: 8, seed: 5 });
    const pad = toneFor(a, 'chords');
    // 24 pitches twice, 8 s each on two sides: 24 × 0.71 M samples, more than SHARED_SAMPLES.
    const notes: ToneNote[] = [0, 1].flatMap((round) =>
      Array.from({ length: 24 }, (_, k) => ({
        start: sec(round + k * 0.01),
        lengthSec: 8,
        midi: 48 + k,
        velocity: 0.5 + round * 0.3,
        tone: pad,
      })),
    );
    const { out, sharing } = shared(sec(10), notes);
    expectSameBits(out, reference(sec(10), notes));
    expect(sharing.used).toBeGreaterThan(SHARED_SAMPLES / 2);
    expect(sharing.used).toBeLessThanOrEqual(SHARED_SAMPLES);
    expect(sharing.alone).toBeGreaterThan(0);
    expect(sharing.shared).toBeGreaterThan(0);
  });
});
