/** Encoders: WAV (PCM 16/24-bit), MP3 (LAME compiled to wasm: lame.ts; VBR, in two halves: mp3-halves.ts) and MIDI of the arrangement. */
import * as ToneMidi from '@tonejs/midi';
import type { MusicalKey } from '../../src/music/keys.js';
import { type Arrangement, BEATS_PER_BAR, type DrumName, type PartName } from './arrangement.js';
import { SAMPLE_RATE, type Stereo } from './dsp.js';
import { lameEncode } from './lame.js';
import { withGaplessHeader } from './lame-tag.js';
import { joinHalves, type Mp3Halves, mp3Halves } from './mp3-halves.js';
import { legatoRuns, toneFor } from './render.js';

export function encodeWav(s: Stereo, bitDepth: 16 | 24 = 16, sampleRate = SAMPLE_RATE): Buffer {
  const frames = s.left.length;
  const bytes = bitDepth / 8;
  const dataSize = frames * 2 * bytes;
  const buf = Buffer.alloc(44 + dataSize);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataSize, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2 * bytes, 28);
  buf.writeUInt16LE(2 * bytes, 32);
  buf.writeUInt16LE(bitDepth, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataSize, 40);
  const max = bitDepth === 16 ? 32767 : 8388607;
  // round(clamp(x, -1, 1) · max). floor(v + 0.5) is Math.round here, and 5× faster in V8: a float32 (a
  // Stereo's samples are) times max has at most 47 significant bits, so v + 0.5 is exact (NaN still
  // gives 0). For a float64 x it could differ from Math.round by one at an exact half.
  const q = (x: number) => {
    const v = x * max;
    return v >= max ? max : v <= -max ? -max : Math.floor(v + 0.5);
  };
  if (bitDepth === 16) {
    // Little-endian hosts (x86, ARM): write through an Int16Array view.
    const pcm = new Int16Array(buf.buffer, buf.byteOffset + 44, frames * 2);
    for (let i = 0; i < frames; i++) {
      pcm[2 * i] = q(s.left[i] as number);
      pcm[2 * i + 1] = q(s.right[i] as number);
    }
    return buf;
  }
  // Three bytes each, little-endian two's complement (what writeIntLE(v, o, 3) writes, without its checks).
  let o = 44;
  for (let i = 0; i < frames; i++) {
    const l = q(s.left[i] as number);
    const r = q(s.right[i] as number);
    buf[o] = l & 0xff;
    buf[o + 1] = (l >> 8) & 0xff;
    buf[o + 2] = (l >> 16) & 0xff;
    buf[o + 3] = r & 0xff;
    buf[o + 4] = (r >> 8) & 0xff;
    buf[o + 5] = (r >> 16) & 0xff;
    o += 6;
  }
  return buf;
}

interface WavLayout {
  channels: number;
  sampleRate: number;
  bits: 16 | 24;
  /** Byte offset of the first sample. */
  data: number;
  frames: number;
}

/** Where the samples of a PCM WAV written by encodeWav are (16/24-bit, stereo or mono). */
export function wavLayout(buf: Buffer): WavLayout {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let o = 12;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  while (o + 8 <= buf.length) {
    const id = buf.toString('ascii', o, o + 4);
    const size = buf.readUInt32LE(o + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(o + 10);
      sampleRate = buf.readUInt32LE(o + 12);
      bits = buf.readUInt16LE(o + 22);
    } else if (id === 'data') {
      if (bits !== 16 && bits !== 24) throw new Error(`unsupported WAV bit depth ${bits}`);
      return { channels, sampleRate, bits, data: o + 8, frames: Math.floor(size / ((bits / 8) * channels)) };
    }
    o += 8 + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

/**
 * Calls `frame(i, left, right)` for each frame of a WAV, samples scaled to
 * -1..1 and rounded to float32 (what decodeWav stores), so summing straight
 * from the file gives what summing the decoded audio gives.
 */
function eachFrame(buf: Buffer, w: WavLayout, frame: (i: number, l: number, r: number) => void): void {
  const bytes = w.bits / 8;
  const scale = w.bits === 16 ? 32768 : 8388608;
  let p = w.data;
  for (let i = 0; i < w.frames; i++) {
    const l = Math.fround((w.bits === 16 ? buf.readInt16LE(p) : buf.readIntLE(p, 3)) / scale);
    p += bytes;
    let r = l;
    if (w.channels > 1) {
      r = Math.fround((w.bits === 16 ? buf.readInt16LE(p) : buf.readIntLE(p, 3)) / scale);
      p += bytes * (w.channels - 1);
    }
    frame(i, l, r);
  }
}

/** Reads a PCM WAV written by encodeWav (16/24-bit stereo or mono). */
export function decodeWav(buf: Buffer): { audio: Stereo; sampleRate: number } {
  const w = wavLayout(buf);
  const left = new Float32Array(w.frames);
  const right = new Float32Array(w.frames);
  eachFrame(buf, w, (i, l, r) => {
    left[i] = l;
    right[i] = r;
  });
  return { audio: { left, right }, sampleRate: w.sampleRate };
}

/**
 * out += the WAV in `buf` × gain, with addInto's balance pan, without decoding
 * it to a second stereo buffer first (a mix holds one source file at a time).
 * Frames past the end of `out` are dropped: size `out` to the longest source.
 */
export function addWavInto(out: Stereo, buf: Buffer, gain: number, pan = 0): void {
  const gl = gain * Math.min(1, 1 - pan);
  const gr = gain * Math.min(1, 1 + pan);
  const w = wavLayout(buf);
  const n = Math.min(out.left.length, w.frames);
  eachFrame(buf, { ...w, frames: n }, (i, l, r) => {
    out.left[i] = (out.left[i] as number) + l * gl;
    out.right[i] = (out.right[i] as number) + r * gr;
  });
}

/** LAME's -V quality (0 best … 9 smallest): V2 is transparent, about 150–200 kbps on our mixes. */
const VBR_QUALITY = 2;
/**
 * LAME's -q. Its VBR (the default, "mtrh") has two levels only (lame.c: "9-5=5 are the same … 4-0=0
 * are the same, 5 plus best huffman divide code"), and its default, 3, is the second: the same masking
 * and quantization, plus a search for the Huffman table split that saves the most bits. Without it a
 * beat encodes in about 0.85 of the time into a file about 1.5 % larger; the decoded samples are the
 * same but in the few granules where the bits ran short, and there the difference is 58–92 dB under
 * the music (the codec's own error is 21–27 dB under it): docs/benchmarks.md, "LAME's -q 5".
 */
const LAME_QUALITY = 5;

/** Samples to MP3 frames (VBR, no tag), by a fresh LAME. */
export function lameFrames(left: Float32Array, right: Float32Array): Uint8Array {
  return lameEncode(left, right, SAMPLE_RATE, VBR_QUALITY, LAME_QUALITY);
}

/**
 * Hands an MP3's tail (views of the mix: copied if sent away) to be encoded elsewhere, another thread,
 * while the head is encoded here; the function it returns gives the tail's frames once the head is
 * done, or null for "encode it here". Null instead of a function: not handed over.
 */
export type Mp3TailElsewhere = (left: Float32Array, right: Float32Array) => (() => Promise<Uint8Array | null>) | null;

/**
 * VBR MP3 with a gapless header: it decodes to exactly the samples of `s`, in step with them. VBR over
 * CBR 192k: LAME's VBR search encodes a 30 s beat about a fifth faster here (docs/benchmarks.md, audio)
 * into a smaller file of the same quality. A beat of 10 s or more is encoded in two halves, joined
 * (mp3-halves.ts): the tail on another thread when `elsewhere` finds one, else here after the head.
 * `meanwhile` (the task's other files, returned as `also`) runs here once: while another thread
 * encodes the tail, or after the MP3 when none does (so a long beat's WAV is not held beside its MP3
 * buffers for nothing).
 */
export async function encodeMp3<T = undefined>(
  s: Stereo,
  elsewhere?: Mp3TailElsewhere,
  meanwhile: () => T = () => undefined as T,
): Promise<{ mp3: Buffer; also: T }> {
  const samples = s.left.length;
  const whole = () => withGaplessHeader(lameFrames(s.left, s.right), samples, true);
  const halves = async (plan: Mp3Halves, away: ReturnType<Mp3TailElsewhere>) => {
    const tailOf = (c: Float32Array) => c.subarray(plan.tailFrom);
    const head = lameFrames(s.left.subarray(0, plan.headTo), s.right.subarray(0, plan.headTo));
    const tail = (await away?.()) ?? lameFrames(tailOf(s.left), tailOf(s.right));
    const joined = joinHalves(head, tail, plan);
    return joined ? withGaplessHeader(joined, samples, true) : whole();
  };
  const plan = mp3Halves(samples);
  const away = (plan && elsewhere?.(s.left.subarray(plan.tailFrom), s.right.subarray(plan.tailFrom))) || null;
  const early = away ? { also: meanwhile() } : null;
  const mp3 = plan ? await halves(plan, away) : whole();
  return { mp3, also: early ? early.also : meanwhile() };
}

/**
 * @tonejs/midi is CommonJS with an __esModule flag: an ES module import sees its exports as `default`,
 * a CommonJS one (an engine thread under tsx) sees them directly.
 */
const { Midi } = 'Midi' in ToneMidi ? ToneMidi : (ToneMidi as unknown as { default: typeof ToneMidi }).default;

/** General MIDI drum notes; the riser is not a drum there, and goes to its own track (Reverse Cymbal). */
const GM_DRUMS: Record<Exclude<DrumName, 'riser'>, number> = {
  kick: 36,
  snare: 38,
  clap: 39,
  hat: 42,
  openhat: 46,
  perc: 37,
  crash: 49,
};
/** GM program 120, Reverse Cymbal (0-based 119): the builds' risers. */
const GM_REVERSE_CYMBAL = 119;
const GM_PROGRAM: Record<Exclude<PartName, 'drums'>, number> = { bass: 38, chords: 4, lead: 80 };

/**
 * The key signature as MIDI stores it: sharps (+) or flats (−), −7..7, of the major key or the
 * minor key's relative major, spelled as the tonic is (C# major 7 sharps, Db major 5 flats).
 */
export function keySignature(key: MusicalKey): { sf: number; mi: 0 | 1 } {
  const major = key.mode === 'minor' ? (key.pitchClass + 3) % 12 : key.pitchClass;
  let sf = (major * 7) % 12; // C 0, G 1, D 2 … F# 6, then Db 7 → −5 …
  if (sf > 6) sf -= 12;
  if (key.tonic.includes('#') && sf < 0) sf += 12;
  if (key.tonic.includes('b') && sf > 0) sf -= 12;
  return { sf, mi: key.mode === 'minor' ? 1 : 0 };
}

/** Pitch-bend steps per glide: a slide of an octave moves by 1.5 semitones a step, over about 11 ms. */
const GLIDE_STEPS = 8;

/**
 * An 808's legato runs as the renderer plays them (render.ts legatoRuns): one note per run, its
 * slides as pitch bends that move as the voice does (linearly in semitones over the tone's glide),
 * back to centre once it has rung out. The bend range (RPN 0) is set at the start to the widest slide,
 * at least GM's 2 semitones and at most 24.
 */
function writeBass(track: ReturnType<InstanceType<typeof Midi>['addTrack']>, a: Arrangement, spb: number, ppq: number): void {
  const runs = legatoRuns(a.bass, spb);
  const widest = Math.max(0, ...runs.flatMap((r) => (r.shape.slides ?? []).map((s) => Math.abs(s.midi - r.note.midi))));
  const range = Math.min(24, Math.max(2, Math.ceil(widest)));
  if (widest > 0) {
    // RPN 0 (pitch-bend sensitivity) selected, then its value: the data entry a tick later, so that it
    // follows the selection whatever order a writer puts a tick's controllers in.
    track.addCC({ number: 101, value: 0, ticks: 0 });
    track.addCC({ number: 100, value: 0, ticks: 0 });
    track.addCC({ number: 6, value: (range + 0.5) / 127, ticks: 1 });
    track.addCC({ number: 38, value: 0, ticks: 1 });
  }
  const { glide = 0.08, release } = toneFor(a, 'bass');
  // @tonejs/midi writes a bend's value as the 14-bit offset from centre, as given (−8192 … 8191).
  const bend = (semitones: number) => Math.max(-8192, Math.min(8191, Math.round((semitones / range) * 8192)));
  for (const [r, { note, lengthSec, shape }] of runs.entries()) {
    const start = note.time * spb;
    track.addNote({ midi: note.midi, time: start, duration: lengthSec, velocity: note.velocity });
    const slides = shape.slides ?? [];
    for (const [k, slide] of slides.entries()) {
      const from = (k === 0 ? note.midi : (slides[k - 1] as { midi: number }).midi) - note.midi;
      const to = slide.midi - note.midi;
      for (let step = 1; step <= GLIDE_STEPS; step++)
        track.addPitchBend({
          time: start + slide.atSec + (glide * step) / GLIDE_STEPS,
          value: bend(from + ((to - from) * step) / GLIDE_STEPS),
        });
    }
    // Back to centre once the note has rung out (the voice keeps its last pitch through its release),
    // and a tick before the next note at the latest.
    const next = runs[r + 1];
    const rungOut = Math.ceil(((start + lengthSec + release) / spb) * ppq);
    if (slides.length)
      track.addPitchBend({ ticks: next ? Math.min(rungOut, Math.floor(next.note.time * ppq) - 1) : rungOut, value: 0 });
  }
}

/**
 * A type-1 MIDI file: tempo, 4/4, key signature, one named track per part, each on its own channel
 * (bass 1, chords 2, lead 3, drums 10) with its General MIDI program, and the risers of builds on
 * channel 4. A tom or a rolled hat tuned by a few semitones keeps its drum note (the pitch is the
 * sound's); an 808 glide is a pitch bend within its run's note (writeBass).
 */
export function encodeMidi(a: Arrangement): Buffer {
  const midi = new Midi();
  midi.header.setTempo(a.bpm);
  midi.header.timeSignatures.push({ ticks: 0, timeSignature: [BEATS_PER_BAR, 4] });
  midi.header.keySignatures.push({ key: a.key.tonic, scale: a.key.mode, ticks: 0 });
  midi.header.name = `${a.genre} ${a.bpm} bpm ${a.key.tonic} ${a.key.mode}`;
  const spb = 60 / a.bpm;
  const drums = midi.addTrack();
  drums.name = 'drums';
  drums.channel = 9;
  for (const h of a.drums)
    if (h.drum !== 'riser') drums.addNote({ midi: GM_DRUMS[h.drum], time: h.time * spb, duration: 0.1, velocity: h.velocity });
  for (const [channel, part] of (['bass', 'chords', 'lead'] as const).entries()) {
    const track = midi.addTrack();
    track.name = part;
    track.channel = channel;
    track.instrument.number = GM_PROGRAM[part];
    if (part === 'bass') writeBass(track, a, spb, midi.header.ppq);
    else
      for (const n of a[part])
        track.addNote({ midi: n.midi, time: n.time * spb, duration: n.duration * spb, velocity: n.velocity });
  }
  const risers = a.drums.filter((h) => h.drum === 'riser');
  if (risers.length) {
    const fx = midi.addTrack();
    fx.name = 'fx';
    fx.channel = 3;
    fx.instrument.number = GM_REVERSE_CYMBAL;
    for (const h of risers) fx.addNote({ midi: 60, time: h.time * spb, duration: (h.duration ?? 4) * spb, velocity: h.velocity });
  }
  const bytes = Buffer.from(midi.toArray());
  // @tonejs/midi 2.0.28 writes its table index + 7 as the sharps (13–21, which strict readers
  // refuse) and ignores the mode: the key signature event (FF 59 02 sf mi) is written here.
  const at = bytes.indexOf(Buffer.from([0xff, 0x59, 0x02]));
  if (at < 0) throw new Error('MIDI: no key signature event');
  const { sf, mi } = keySignature(a.key);
  bytes.writeInt8(sf, at + 3);
  bytes.writeUInt8(mi, at + 4);
  return bytes;
}
