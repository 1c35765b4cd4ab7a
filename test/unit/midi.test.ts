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
  channels: Set<number>;
  /** Absolute ticks of its note-ons. */
  noteOns: number[];
}

/** Each track's events: [status, data…] without running status resolution beyond what a channel event needs. */
function tracks(bytes: Buffer): Track[] {
  expect(bytes.subarray(0, 4).toString()).toBe('MThd');
  const out: Track[] = [];
  let at = 8 + bytes.readUInt32BE(4);
  while (at < bytes.length) {
    expect(bytes.subarray(at, at + 4).toString()).toBe('MTrk');
    const end = at + 8 + bytes.readUInt32BE(at + 4);
    const track: Track = { channels: new Set(), noteOns: [] };
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
        p += length;
      } else if (status === 0xf0 || status === 0xf7) p += varLen();
      else {
        track.channels.add(status & 0x0f);
        if ((status & 0xf0) === 0x90 && (bytes[p + 1] as number) > 0) track.noteOns.push(tick);
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
