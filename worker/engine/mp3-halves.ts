/**
 * A long MP3 encoded as two halves, each by its own LAME, so that two threads can share the work
 * (worker/engine-pool/), joined into one stream that decodes as one encoder's would.
 *
 * The tail's encoder starts WARM_FRAMES frames before the earliest join, on the frame grid, so that by
 * the join its filter bank, its MDCT's overlap and its psychoacoustic model hold what the head's do.
 * Measured on 24 beats (at LAME's default -q; the engine now encodes at -q 5, and the test's bounds hold
 * there), the joined stream decoded to a single encoder's samples in 12 and within −73 dB of them in
 * the rest (LAME's choices differ here and there after the join, where its bit reservoir or its
 * adaptation differ; test/unit/mp3-halves.test.ts). The join takes the head's frames before
 * it and the tail's from it, at the first frame in SEAM_FRAMES where
 * - both encoders leave the previous granule with the same window (long, start, short or stop), so the
 *   decoder's overlap-add meets the window it expects; and
 * - the bytes of the tail's first frame that its encoder placed in the frames before it (its bit
 *   reservoir, main_data_begin) fit in the end of the head's last frames, where only the head's dropped
 *   frames had data, and are copied there. The tail's reservoir runs a few bytes fuller than the head's;
 *   when the room is short, the head's last frame takes the next bitrate up that makes the room (a VBR
 *   stream's frames may each have their own), its new bytes past its own data.
 *
 * Both halves are a pure function of the samples, so the bytes are the same wherever each is encoded.
 * The plan is fixed by the length alone; a beat shorter than MIN_SAMPLES is encoded whole.
 */
import { BITRATES_KBPS, type FrameHeader, frameBytes, mp3Frames, SAMPLES_PER_FRAME, sideBytes } from './lame-tag.js';

/** Frames the tail's encoder runs before the earliest join: after 2 its frames were already a single encoder's. */
const WARM_FRAMES = 4;
/** Frames after the split point where a join is looked for. */
const SEAM_FRAMES = 24;
/**
 * Frames the head encodes past the last frame it may keep (the one before the last possible join), so
 * that the frames it keeps are final: LAME looks about 1.7 frames ahead.
 */
const LOOKAHEAD_FRAMES = 3;
/** Shorter than this (10 s at 44.1 kHz), the MP3 is encoded whole. */
export const MIN_SAMPLES = 441_000;

export interface Mp3Halves {
  /** The head's samples: [0, headTo). */
  headTo: number;
  /** The tail's samples: [tailFrom, end), tailFrom on the frame grid. */
  tailFrom: number;
}

/**
 * The head's share of the frames: under half, as the head's thread also encodes the frames past the
 * join and meanwhile writes the WAV and MIDI (about a tenth of LAME's time), so that the halves end
 * together when two threads encode them.
 */
const HEAD_SHARE = 0.45;

/** Where a stream of `samples` is split, or null to encode it whole. */
export function mp3Halves(samples: number): Mp3Halves | null {
  if (samples < MIN_SAMPLES) return null;
  const split = Math.floor((samples / SAMPLES_PER_FRAME) * HEAD_SHARE);
  return {
    headTo: Math.min(samples, (split + SEAM_FRAMES + LOOKAHEAD_FRAMES) * SAMPLES_PER_FRAME),
    tailFrom: (split - WARM_FRAMES) * SAMPLES_PER_FRAME,
  };
}

/** `count` bits of a frame's side information from bit `bit`. */
function sideBits(mp3: Uint8Array, f: FrameHeader, bit: number, count: number): number {
  let v = 0;
  for (let k = bit; k < bit + count; k++) v = (v << 1) | (((mp3[f.at + 4 + (k >> 3)] as number) >> (7 - (k & 7))) & 1);
  return v;
}

/** How many bytes before its own data a frame's main data begins (in earlier frames: the bit reservoir). */
const mainDataBegin = (mp3: Uint8Array, f: FrameHeader) => sideBits(mp3, f, 0, 9);

/** The window each channel's second granule ends with: 0 long, else the switched block's type (1 start, 2 short, 3 stop). */
function windowsOut(mp3: Uint8Array, f: FrameHeader): string {
  const channels = f.mode === 3 ? 1 : 2;
  const first = channels === 1 ? 18 : 20; // main_data_begin, private bits, scfsi
  const types: number[] = [];
  for (let ch = 0; ch < channels; ch++) {
    const at = first + (channels + ch) * 59; // granule 1 of this channel, 59 bits a channel-granule
    types.push(sideBits(mp3, f, at + 33, 1) ? sideBits(mp3, f, at + 34, 2) : 0);
  }
  return types.join();
}

/** The stream positions of the last `count` bytes of main data room before `frames[index]`, last first. */
function roomBefore(frames: FrameHeader[], index: number, count: number): number[] {
  const at: number[] = [];
  for (let k = index - 1; k >= 0 && at.length < count; k--) {
    const f = frames[k] as FrameHeader;
    for (let p = f.at + f.bytes - 1; p >= f.at + 4 + sideBytes(f) && at.length < count; p--) at.push(p);
  }
  return at;
}

/**
 * `frame` of `mp3` as it is if `more` ≤ 0, else made at least `more` bytes longer (its own data
 * unchanged, zeros after it) by the next bitrate up that does it, or null if even 320 kbps does not.
 */
function enlarged(mp3: Uint8Array, frame: FrameHeader, more: number): Uint8Array | null {
  const bytes = mp3.subarray(frame.at, frame.at + frame.bytes);
  if (more <= 0) return bytes;
  for (let index = BITRATES_KBPS.indexOf(frame.bitrateKbps) + 1; index < BITRATES_KBPS.length; index++) {
    const out = new Uint8Array(frameBytes(BITRATES_KBPS[index] as number, frame.sampleRate));
    if (out.length - frame.bytes < more) continue;
    out.set(bytes);
    out[2] = (index << 4) | ((bytes[2] as number) & 0x0d); // the new bitrate, no padding slot
    return out;
  }
  return null;
}

/** Where two halves join: the head's frames before `head`, the tail's from `tail`; `last`, the head's last frame as it goes in. */
interface Join {
  head: number;
  tail: number;
  last: Uint8Array;
}

/** The first frame in the window where the halves can join (see the top of this file), or null. */
function findJoin(head: Uint8Array, a: FrameHeader[], tail: Uint8Array, b: FrameHeader[], plan: Mp3Halves): Join | null {
  const tailFirst = plan.tailFrom / SAMPLES_PER_FRAME; // the tail's frame 0 is this frame of the whole
  for (let g = tailFirst + WARM_FRAMES; g < tailFirst + WARM_FRAMES + SEAM_FRAMES; g++) {
    const j = g - tailFirst;
    const [fa, fb, pa, pb] = [a[g], b[j], a[g - 1], b[j - 1]];
    if (!fa || !fb || !pa || !pb) return null;
    if (windowsOut(head, pa) !== windowsOut(tail, pb)) continue;
    const last = enlarged(head, pa, mainDataBegin(tail, fb) - mainDataBegin(head, fa));
    if (last) return { head: g, tail: j, last };
  }
  return null;
}

/**
 * The head's frames (of samples [0, headTo)) and the tail's (of [tailFrom, end)) joined into one
 * stream, or null where no frame in the window can join them (then encode the whole).
 */
export function joinHalves(head: Uint8Array, tail: Uint8Array, plan: Mp3Halves): Uint8Array | null {
  const a = mp3Frames(head);
  const b = mp3Frames(tail);
  const join = findJoin(head, a, tail, b, plan);
  if (!join) return null;
  const pa = a[join.head - 1] as FrameHeader;
  const fb = b[join.tail] as FrameHeader;
  const out = new Uint8Array(pa.at + join.last.length + tail.length - fb.at);
  out.set(head.subarray(0, pa.at));
  out.set(join.last, pa.at);
  out.set(tail.subarray(fb.at), pa.at + join.last.length);
  // The tail's reservoir: the bytes of its frames from the join on that its encoder put before them.
  const reservoir = mainDataBegin(tail, fb);
  const from = roomBefore(b, join.tail, reservoir);
  const to = roomBefore([...a.slice(0, join.head - 1), { ...pa, bytes: join.last.length }], join.head, reservoir);
  if (from.length < reservoir || to.length < reservoir) return null;
  for (let k = 0; k < reservoir; k++) out[to[k] as number] = tail[from[k] as number] as number;
  return out;
}
