/**
 * The MIDI file strict readers accept (issue 15, item 10): a key signature of −7..7 sharps with the
 * mode (mido refused every file when @tonejs/midi wrote 13–21), and bass, chords and lead each on a
 * channel of their own. The bytes are read here as the MIDI spec lays them out.
 */
import { describe, expect, it } from 'vitest';
import { parseKey } from '../../src/music/keys.js';
import { compose } from '../../worker/engine/composer.js';
import { encodeMidi, keySignature } from '../../worker/engine/encode.js';

const key = (k: string) => {
  const parsed = parseKey(k);
  if (!parsed) throw new Error(k);
  return parsed;
};

interface Track {
  keySignature?: { sf: number; mi: number };
  name?: string;
  /** Microseconds per quarter note. */
  tempo?: number;
  timeSignature?: { numerator: number; denominator: number };
  channels: Set<number>;
  /** Absolute ticks of its note-ons. */
  noteOns: number[];
  /** Its note-ons with pitch, in order. */
  notes: { tick: number; midi: number }[];
  /** Controller changes in the order written. */
  controllers: { tick: number; number: number; value: number }[];
  /** Pitch bends as offsets from centre (−8192 … 8191), in order. */
  bends: { tick: number; value: number }[];
}

/** Each track's events: [status, data…] without running status resolution beyond what a channel event needs. */
function tracks(bytes: Buffer): Track[] {
  expect(bytes.subarray(0, 4).toString()).toBe('MThd');
  const out: Track[] = [];
  let at = 8 + bytes.readUInt32BE(4);
  while (at < bytes.length) {
    expect(bytes.subarray(at, at + 4).toString()).toBe('MTrk');
    const end = at + 8 + bytes.readUInt32BE(at + 4);
    const track: Track = { channels: new Set(), noteOns: [], notes: [], controllers: [], bends: [] };
    let p = at + 8;
    let status = 0;
    let tick = 0;
    const varLen = () => {
      let v = 0;
      for (;;) {
        const b = bytes[p++] as number;
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80)) return v;
      }
    };
    while (p < end) {
      tick += varLen(); // delta time
      if ((bytes[p] as number) & 0x80) status = bytes[p++] as number;
      if (status === 0xff) {
        const type = bytes[p++] as number;
        const length = varLen();
        if (type === 0x59) track.keySignature = { sf: bytes.readInt8(p), mi: bytes[p + 1] as number };
        if (type === 0x03) track.name = bytes.toString('latin1', p, p + length);
        if (type === 0x51) track.tempo = bytes.readUIntBE(p, 3);
        if (type === 0x58) track.timeSignature = { numerator: bytes[p] as number, denominator: 2 ** (bytes[p + 1] as number) };
        p += length;
      } else if (status === 0xf0 || status === 0xf7) p += varLen();
      else {
        track.channels.add(status & 0x0f);
        const [d1, d2] = [bytes[p] as number, bytes[p + 1] as number];
        if ((status & 0xf0) === 0x90 && d2 > 0) {
          track.noteOns.push(tick);
          track.notes.push({ tick, midi: d1 });
        }
        if ((status & 0xf0) === 0xb0) track.controllers.push({ tick, number: d1, value: d2 });
        if ((status & 0xf0) === 0xe0) track.bends.push({ tick, value: (d1 | (d2 << 7)) - 0x2000 });
        p += (status & 0xf0) === 0xc0 || (status & 0xf0) === 0xd0 ? 1 : 2;
      }
    }
    out.push(track);
    at = end;
  }
  return out;
}

describe('MIDI', () => {
  it('writes the key signature as sharps or flats of the key (or its relative major) and its mode', () => {
    const cases: [string, number, number][] = [
      ['C major', 0, 0],
      ['A minor', 0, 1],
      ['E minor', 1, 1],
      ['D minor', -1, 1],
      ['F# minor', 3, 1],
      ['C minor', -3, 1],
      ['Bb major', -2, 0],
      ['F# major', 6, 0],
      ['Gb major', -6, 0],
      ['Db major', -5, 0],
      ['C# major', 7, 0],
      ['G# minor', 5, 1],
      ['Eb minor', -6, 1],
    ];
    for (const [name, sf, mi] of cases) expect(keySignature(key(name)), name).toEqual({ sf, mi });
  });

  it('is a file strict readers accept: a valid key signature, and each part on its own channel', () => {
    for (const k of ['A minor', 'C# major', 'Eb minor', 'F major']) {
      const arrangement = compose({ genre: 'lofi', bpm: 90, key: key(k), mood: 'mellow', durationSec: 10, seed: 3 });
      const parsed = tracks(encodeMidi(arrangement));
      const signature = parsed.find((t) => t.keySignature)?.keySignature;
      expect(signature, k).toEqual(keySignature(key(k)));
      expect(signature?.sf).toBeGreaterThanOrEqual(-7);
      expect(signature?.sf).toBeLessThanOrEqual(7);
      // Tracks with notes: drums (channel 10), bass, chords and lead, each alone on its channel.
      const channels = parsed.filter((t) => t.channels.size).map((t) => [...t.channels]);
      expect(channels.every((c) => c.length === 1)).toBe(true);
      expect(new Set(channels.flat()).size).toBe(channels.length);
      expect(channels.flat()).toContain(9);
    }
  });

  it('sets the tempo, 4/4 and a name on every track', () => {
    const arrangement = compose({ genre: 'house', bpm: 124, key: key('G minor'), mood: 'warm', durationSec: 10, seed: 2 });
    const parsed = tracks(encodeMidi(arrangement));
    const conductor = parsed[0] as Track;
    expect(Math.abs((conductor.tempo as number) - 60_000_000 / 124)).toBeLessThan(1);
    expect(conductor.timeSignature).toEqual({ numerator: 4, denominator: 4 });
    expect(parsed.slice(1).map((t) => t.name)).toEqual(['drums', 'bass', 'chords', 'lead']);
  });

  it("writes an 808's glide as a pitch bend within its run's note, reaching each note's pitch, back to centre after", () => {
    const arrangement = compose({ genre: 'trap', bpm: 140, key: key('A minor'), mood: 'dark', durationSec: 20, seed: 3 });
    const glides = arrangement.bass.filter((n) => n.glideFrom !== undefined);
    expect(glides.length).toBeGreaterThan(0);
    const bass = tracks(encodeMidi(arrangement)).find((t) => t.name === 'bass') as Track;
    // RPN 0 selected (101 and 100 = 0, in either order), then its data entry: the bend range in semitones.
    const [first, second, entry] = bass.controllers;
    expect([first, second].map((c) => `${c?.number}=${c?.value}`).sort()).toEqual(['100=0', '101=0']);
    expect(entry?.number).toBe(6);
    expect(entry?.tick).toBeGreaterThan(second?.tick as number);
    const range = entry?.value as number;
    expect(range).toBeGreaterThanOrEqual(2);
    expect(range).toBeLessThanOrEqual(24);
    // A glided note is no new note: one note-on per run.
    expect(bass.notes).toHaveLength(arrangement.bass.length - glides.length);
    const ppq = 480;
    let reached = 0;
    for (const [i, note] of bass.notes.entries()) {
      const end = bass.notes[i + 1]?.tick ?? Number.POSITIVE_INFINITY;
      const bends = bass.bends.filter((b) => b.tick >= note.tick && b.tick < end);
      // Each glide's target pitch is where a bend settles: the one before the next glide starts.
      for (const g of glides.filter((n) => n.time * ppq >= note.tick - 1 && n.time * ppq < end)) {
        const target = Math.round(((g.midi - note.midi) / range) * 8192);
        const settled = bends.filter((b) => b.tick <= g.time * ppq + (0.09 * 140 * ppq) / 60 + 2).at(-1);
        expect(Math.abs((settled?.value ?? Number.NaN) - Math.max(-8192, Math.min(8191, target)))).toBeLessThanOrEqual(1);
        reached++;
      }
      // A run that bent ends back at centre, before the next note.
      if (bends.length) expect(bends.at(-1)?.value).toBe(0);
    }
    expect(reached).toBe(glides.length);
  });

  it('places every note where the groove plays it: off the grid by its swing and humanisation, to the tick', () => {
    const arrangement = compose({ genre: 'lofi', bpm: 90, key: key('D minor'), mood: 'mellow', durationSec: 20, seed: 4 });
    const bytes = encodeMidi(arrangement);
    const ppq = bytes.readUInt16BE(12);
    const parsed = tracks(bytes).filter((t) => t.noteOns.length);
    expect(parsed).toHaveLength(4);
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    for (const [i, part] of (['drums', 'bass', 'chords', 'lead'] as const).entries()) {
      const written = sorted((parsed[i] as Track).noteOns);
      const played = sorted(arrangement[part].map((n) => n.time * ppq));
      expect(written.length, part).toBe(played.length);
      // @tonejs/midi rounds seconds to ticks; a tick is 1.4 ms here.
      for (const [j, t] of written.entries()) expect(Math.abs(t - (played[j] as number)), part).toBeLessThanOrEqual(1);
      // The groove reaches the file: swung and humanised notes are off the 16th grid.
      expect(
        written.some((t) => t % (ppq / 4) !== 0),
        part,
      ).toBe(true);
    }
  });
});
