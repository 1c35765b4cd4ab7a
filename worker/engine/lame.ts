/**
 * LAME 3.100, compiled to wasm for speed (lame/lame.wasm; lame/README.md says how and why): float
 * PCM in, VBR MP3 frames out, with no tag. The same LAME, with the same settings, as the
 * size-optimized build of wasm-media-encoders, byte for byte (test/unit/lame.test.ts), in about
 * four fifths of the time.
 */
import { readFileSync } from 'node:fs';

interface LameExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  enc_create(sampleRate: number, channels: number, vbrQuality: number, quality: number): number;
  enc_pcm(encoder: number, samples: number): number;
  enc_out(encoder: number): number;
  enc_encode(encoder: number, samples: number): number;
  enc_flush(encoder: number): number;
  enc_free(encoder: number): void;
}

// Compiled once per thread; each encode has an instance of its own (an encoder is stateful, and its
// memory goes with it).
let compiled: WebAssembly.Module | null = null;
const lameModule = () => {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./lame/lame.wasm', import.meta.url)));
  return compiled;
};

// The C library's stdio is linked in, but LAME's messages are silenced (lame_wasm.c): a write or seek
// fails with ENOSYS, and an exit is an error.
const ENOSYS = 52;
const wasi = {
  fd_close: () => ENOSYS,
  fd_seek: () => ENOSYS,
  fd_write: () => ENOSYS,
  proc_exit: (code: number) => {
    throw new Error(`LAME exited with code ${code}`);
  },
};

/** Samples a channel handed to LAME at a time (LAME buffers what it needs: the bytes do not depend on it). */
const BLOCK = 65_536;

function check(n: number, what: string): number {
  if (n < 0) throw new Error(`LAME: ${what} failed (${n})`);
  return n;
}

/**
 * Stereo samples (at `sampleRate`, -1…1) to MP3 frames, VBR at LAME's -V `vbrQuality` and -q `quality`
 * (-1: LAME's default), by a fresh LAME.
 */
export function lameEncode(
  left: Float32Array,
  right: Float32Array,
  sampleRate: number,
  vbrQuality: number,
  quality = -1,
): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`LAME: no such sample rate: ${sampleRate}`);
  const lame = new WebAssembly.Instance(lameModule(), { wasi_snapshot_preview1: wasi }).exports as unknown as LameExports;
  lame._initialize();
  const encoder = lame.enc_create(sampleRate, 2, vbrQuality, quality);
  if (!encoder) throw new Error('LAME: encoder initialization failed');
  try {
    const block = Math.max(1, Math.min(BLOCK, left.length));
    const pcm = lame.enc_pcm(encoder, block);
    if (!pcm) throw new Error('LAME: out of memory');
    const chunks: Uint8Array[] = [];
    // Views of the wasm memory are made afresh after each call: a call that grows it detaches them.
    const take = (bytes: number) => chunks.push(new Uint8Array(lame.memory.buffer, lame.enc_out(encoder), bytes).slice());
    for (let i = 0; i < left.length; i += block) {
      const n = Math.min(block, left.length - i);
      const [l, r] = new Uint32Array(lame.memory.buffer, pcm, 2) as unknown as [number, number];
      new Float32Array(lame.memory.buffer, l, n).set(left.subarray(i, i + n));
      new Float32Array(lame.memory.buffer, r, n).set(right.subarray(i, i + n));
      take(check(lame.enc_encode(encoder, n), 'encoding'));
    }
    take(check(lame.enc_flush(encoder), 'flushing'));
    return Buffer.concat(chunks);
  } finally {
    lame.enc_free(encoder);
  }
}
