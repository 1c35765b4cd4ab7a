/**
 * Signal helpers shared by tempo and key detection (src/music/detect.ts): mono mixdown, a radix-2 FFT
 * (tables computed once per size), Hann window, decimation, the MAX_SECONDS head, RMS and the STFT.
 */

/** At most this much audio is analysed (from the start): bounded time and memory for long uploads. */
const MAX_SECONDS = 90;

/** Mono, averaged from any number of channels. */
export function mono(channels: Float32Array[]): Float32Array {
  const n = channels[0]?.length ?? 0;
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (c[i] as number) / channels.length;
  return out;
}

interface FftTables {
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}
const fftTables = new Map<number, FftTables>();

/** Bit-reversal permutation and twiddle factors for an `n`-point FFT, computed once per size. */
function tablesFor(n: number): FftTables {
  let t = fftTables.get(n);
  if (t) return t;
  const bits = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  t = { rev, cos, sin };
  fftTables.set(n, t);
  return t;
}

/** In-place iterative radix-2 FFT (Cooley–Tukey); `re.length` must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const { rev, cos, sin } = tablesFor(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const c = cos[k * step] as number;
        const s = sin[k * step] as number;
        const a = start + k;
        const b = a + half;
        const br = re[b] as number;
        const bi = im[b] as number;
        const tr = br * c + bi * s;
        const ti = bi * c - br * s;
        re[b] = (re[a] as number) - tr;
        im[b] = (im[a] as number) - ti;
        re[a] = (re[a] as number) + tr;
        im[a] = (im[a] as number) + ti;
      }
    }
  }
}

/** Periodic Hann window. */
function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/**
 * Decimation by an integer `factor`: a windowed-sinc (Blackman) low-pass at 90 % of the new Nyquist
 * frequency, evaluated only at the samples kept.
 */
function decimate(x: Float32Array, factor: number): Float32Array {
  if (factor <= 1) return x;
  const half = 4 * factor;
  const cutoff = 0.45 / factor;
  const h = new Float64Array(2 * half + 1);
  let sum = 0;
  for (let j = -half; j <= half; j++) {
    const sinc = j === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * j) / (Math.PI * j);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * j) / half) + 0.08 * Math.cos((2 * Math.PI * j) / half);
    h[j + half] = sinc * w;
    sum += sinc * w;
  }
  for (let j = 0; j < h.length; j++) h[j] = (h[j] as number) / sum;
  const out = new Float32Array(Math.floor(x.length / factor));
  for (let o = 0; o < out.length; o++) {
    const c = o * factor;
    let s = 0;
    const lo = Math.max(-half, -c);
    const hi = Math.min(half, x.length - 1 - c);
    for (let j = lo; j <= hi; j++) s += (h[j + half] as number) * (x[c + j] as number);
    out[o] = s;
  }
  return out;
}

/** The first MAX_SECONDS of `samples`, brought to about `target` Hz by decimation. */
export function prepare(samples: Float32Array, sampleRate: number, target: number): { x: Float32Array; rate: number } {
  const head = samples.subarray(0, Math.min(samples.length, Math.round(MAX_SECONDS * sampleRate)));
  const factor = Math.max(1, Math.round(sampleRate / target));
  return { x: decimate(head, factor), rate: sampleRate / factor };
}

/** Root mean square. */
export function rmsOf(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, x.length)) || 1e-9;
}

/**
 * Short-time magnitude spectra of `x` (Hann window of `n`, every `hop` samples), handed one frame
 * at a time to `each` (the array is reused: copy what must be kept). Two real frames share one
 * complex FFT (one in the real part, one in the imaginary part, separated by conjugate symmetry).
 */
export function stft(x: Float32Array, n: number, hop: number, each: (mag: Float64Array, frame: number) => void): number {
  const win = hann(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const mag = new Float64Array(n / 2 + 1);
  const count = x.length >= n ? Math.floor((x.length - n) / hop) + 1 : 0;
  for (let frame = 0; frame < count; frame += 2) {
    const a = frame * hop;
    const b = a + hop;
    const second = frame + 1 < count;
    for (let i = 0; i < n; i++) {
      re[i] = (x[a + i] as number) * (win[i] as number);
      im[i] = second ? (x[b + i] as number) * (win[i] as number) : 0;
    }
    fft(re, im);
    for (let part = 0; part < (second ? 2 : 1); part++) {
      for (let k = 0; k <= n / 2; k++) {
        const j = (n - k) % n;
        // First frame: (X[k] + conj X[n-k]) / 2; second: (X[k] - conj X[n-k]) / 2i.
        const r = part === 0 ? 0.5 * ((re[k] as number) + (re[j] as number)) : 0.5 * ((im[k] as number) + (im[j] as number));
        const i = part === 0 ? 0.5 * ((im[k] as number) - (im[j] as number)) : 0.5 * ((re[j] as number) - (re[k] as number));
        mag[k] = Math.sqrt(r * r + i * i);
      }
      each(mag, frame + part);
    }
  }
  return count;
}
