/**
 * The gapless header LAME writes when it can seek back to the start of its output, which it cannot
 * do when it encodes to memory (lame.ts): a first frame that holds no audio, only a Xing "Info" tag
 * and the LAME extension with the encoder delay and the padding. Decoders that read it (ffmpeg,
 * mpg123, players with gapless playback) drop the samples LAME put before the music and after it, so
 * the MP3 decodes to exactly the WAV's samples, in step with it and with the MIDI grid. Decoders that
 * do not read it play the frame as silence, as with any LAME file.
 * Layout: the Info tag spec (gabriel.mp3-tech.org/mp3infotag.html) and LAME 3.100's VbrTag.c.
 */

/**
 * Samples LAME puts before the first input sample. Measured on this encoder: without this header
 * ffmpeg decodes the music 1105 samples late, its own 529-sample decoder delay plus these 576.
 */
export const LAME_ENCODER_DELAY = 576;

export const SAMPLES_PER_FRAME = 1152; // MPEG-1 Layer III
export const BITRATES_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const SAMPLE_RATES = [44_100, 48_000, 32_000];
/** Where the Xing tag's optional fields end and the LAME extension begins, from "Info". */
const LAME_AT = 4 + 4 + 4 + 4 + 100 + 4;

export interface FrameHeader {
  /** Where the frame starts in its stream. */
  at: number;
  bytes: number;
  bitrateKbps: number;
  sampleRate: number;
  /** 0 stereo, 1 joint stereo, 2 dual channel, 3 mono. */
  mode: number;
}

/** An MPEG-1 Layer III frame header without CRC (what LAME writes), or null. */
/** A frame's length in bytes, header included, with the padding slot when `padding` is 1. */
export const frameBytes = (bitrateKbps: number, sampleRate: number, padding = 0) =>
  Math.floor((144_000 * bitrateKbps) / sampleRate) + padding;

/** Bytes of side information after a frame's 4-byte header (MPEG-1): 17 mono, 32 otherwise. */
export const sideBytes = (f: FrameHeader) => (f.mode === 3 ? 17 : 32);

function readHeader(mp3: Uint8Array, at: number): FrameHeader | null {
  const b2 = mp3[at + 2] as number;
  if (mp3[at] !== 0xff || mp3[at + 1] !== 0xfb) return null; // sync, MPEG-1, Layer III, no CRC
  const bitrateKbps = BITRATES_KBPS[b2 >> 4] ?? 0;
  const sampleRate = SAMPLE_RATES[(b2 >> 2) & 3] ?? 0;
  if (!bitrateKbps || !sampleRate) return null;
  const bytes = frameBytes(bitrateKbps, sampleRate, (b2 >> 1) & 1);
  return { at, bytes, bitrateKbps, sampleRate, mode: (mp3[at + 3] as number) >> 6 };
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    table[i] = c;
  }
  return table;
})();

/** CRC-16 as LAME computes it (polynomial 0x8005, reflected, starting at 0). */
function crc16(bytes: Uint8Array, crc = 0): number {
  for (let i = 0; i < bytes.length; i++) crc = (crc >>> 8) ^ (CRC16_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}

/** Every frame of `mp3` (frames from LAME, no tag), in order. */
export function mp3Frames(mp3: Uint8Array): FrameHeader[] {
  const frames: FrameHeader[] = [];
  for (let at = 0; at < mp3.length; ) {
    const header = readHeader(mp3, at);
    if (!header) throw new Error(at ? `MP3: no frame at byte ${at}` : 'MP3: the encoder did not start with a frame');
    frames.push(header);
    at += header.bytes;
  }
  if (!frames.length) throw new Error('MP3: the encoder wrote no frame');
  return frames;
}

/** The bitrate index of the tag frame of a VBR stream: 128 kbps holds the tag, as LAME's own. */
const VBR_TAG_BITRATE_INDEX = 9;

/**
 * `mp3` (frames from LAME, CBR or VBR, no tag) preceded by a tag frame (Info for CBR, Xing for VBR)
 * saying it holds `samples` samples per channel after LAME_ENCODER_DELAY, the rest of its last frames
 * being padding, with a seek table of where each percent of the time starts.
 */
export function withGaplessHeader(mp3: Uint8Array, samples: number, vbr = false): Buffer {
  const all = mp3Frames(mp3);
  const first = all[0] as FrameHeader;
  const frames = all.length;
  const padding = frames * SAMPLES_PER_FRAME - LAME_ENCODER_DELAY - samples;
  if (padding < 0 || padding > 0xfff) throw new Error(`MP3: ${frames} frames cannot hold ${samples} samples`);

  // A CBR tag frame has the audio's header without the padding slot, so it is a frame of the same
  // bitrate; a VBR one is a 128 kbps frame, whatever the first audio frame's bitrate.
  const b2 = vbr ? (VBR_TAG_BITRATE_INDEX << 4) | ((mp3[2] as number) & 0x0c) : (mp3[2] as number) & ~0x02;
  const tagBytes = frameBytes(BITRATES_KBPS[b2 >> 4] as number, first.sampleRate);
  const tag = Buffer.alloc(tagBytes);
  tag[0] = 0xff;
  tag[1] = mp3[1] as number;
  tag[2] = b2;
  tag[3] = mp3[3] as number;
  const info = 4 + sideBytes(first); // after the (empty) side information
  const total = tagBytes + mp3.length;
  tag.write(vbr ? 'Xing' : 'Info', info, 'ascii');
  tag.writeUInt32BE(0x0f, info + 4); // frames, bytes, TOC and quality present
  tag.writeUInt32BE(frames, info + 8);
  tag.writeUInt32BE(total, info + 12);
  // TOC: where each percent of the time starts, in 256ths of the bytes (linear at a constant bitrate).
  for (let i = 0; i < 100; i++) {
    const at = tagBytes + (all[Math.floor((i * frames) / 100)] as FrameHeader).at;
    tag[info + 16 + i] = Math.min(255, Math.floor((at * 256) / total));
  }
  const lame = info + LAME_AT;
  tag.write('LAME3.100', lame, 'ascii');
  tag[lame + 9] = vbr ? 0x04 : 0x01; // tag revision 0; VBR (LAME's default, "mtrh") or constant bitrate
  // CBR: the bitrate; VBR: the minimum bitrate asked for (none).
  tag[lame + 20] = vbr ? 0 : Math.min(255, first.bitrateKbps);
  // Encoder delay and padding, 12 bits each.
  tag[lame + 21] = LAME_ENCODER_DELAY >> 4;
  tag[lame + 22] = ((LAME_ENCODER_DELAY & 0x0f) << 4) | (padding >> 8);
  tag[lame + 23] = padding & 0xff;
  // Source sample rate (01 = 44.1 kHz, 10 = 48 kHz) and stereo mode (mono 0, stereo 1, joint 3).
  const sourceRate = first.sampleRate === 44_100 ? 1 : first.sampleRate === 48_000 ? 2 : 0;
  tag[lame + 24] = (sourceRate << 6) | (([1, 3, 2, 0][first.mode] as number) << 2);
  tag.writeUInt32BE(total, lame + 28); // music length: this frame and the audio
  tag.writeUInt16BE(crc16(mp3), lame + 32); // music CRC
  // The tag's own CRC, of every byte of the frame before it (190 in a stereo frame).
  tag.writeUInt16BE(crc16(tag.subarray(0, lame + 34)), lame + 34);
  return Buffer.concat([tag, mp3]);
}
