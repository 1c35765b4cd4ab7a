/**
 * Gives the C library's free memory back to the system: glibc's `malloc_trim(0)`, called through
 * koffi (a foreign-function interface whose builds come in its npm packages, one per platform).
 *
 * glibc keeps memory freed in the middle of its heaps mapped. A connection storm interleaves
 * short-lived read buffers (64 KiB each) with small blocks that live as long as their sockets, so
 * once the storm is over most of its memory is free and still resident: at 3,000 idle sockets the api
 * held 249 MiB, 188 after a malloc_trim (docs/benchmarks.md, "Performance goals"). Only heap-trim.ts and
 * the worker's engine pool (worker/engine-pool/pool.ts, `release`) call it, once the process is quiet:
 * it walks every heap, which a busy process should not pay for.
 *
 * Elsewhere (musl, macOS, a platform koffi has no build for) it is unavailable, and nothing happens.
 */
import { createRequire } from 'node:module';

type Trim = (pad: number) => number;

let trim: Trim | null | undefined;

function load(): Trim | null {
  if (process.platform !== 'linux') return null;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as Trim;
  } catch {
    return null; // no glibc (musl has no malloc_trim), or no koffi build for this platform
  }
}

/** Whether glibc gave memory back (malloc_trim's answer), or null where there is no malloc_trim. */
export function mallocTrim(): boolean | null {
  if (trim === undefined) trim = load();
  return trim ? trim(0) === 1 : null;
}
