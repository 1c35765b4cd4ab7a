/** Signal-processing building blocks on Float32Array (44.1 kHz unless told). */

export const SAMPLE_RATE = 44_100;

export interface Stereo {
  left: Float32Array;
  right: Float32Array;
}

export function stereo(length: number): Stereo {
  return { left: new Float32Array(length), right: new Float32Array(length) };
}

/** Interleaved stereo frames (L R L R …) as two channels. */
export function deinterleave(interleaved: Float32Array): Stereo {
  const out = stereo(interleaved.length / 2);
  for (let i = 0; i < out.left.length; i++) {
    out.left[i] = interleaved[2 * i] as number;
    out.right[i] = interleaved[2 * i + 1] as number;
  }
  return out;
}

export const dbToGain = (db: number) => 10 ** (db / 20);
export const gainToDb = (g: number) => 20 * Math.log10(Math.max(g, 1e-12));

/** Constant-power pan: -1 left … 1 right → [gainLeft, gainRight]. */
export function panGains(pan: number): [number, number] {
  const a = ((Math.max(-1, Math.min(1, pan)) + 1) * Math.PI) / 4;
  return [Math.cos(a), Math.sin(a)];
}

/** RBJ biquad coefficients. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

export function lowpass(freq: number, q = Math.SQRT1_2, sr = SAMPLE_RATE): Biquad {
  const w = (2 * Math.PI * freq) / sr;
  const alpha = Math.sin(w) / (2 * q);
  const cos = Math.cos(w);
  const a0 = 1 + alpha;
  return { b0: (1 - cos) / 2 / a0, b1: (1 - cos) / a0, b2: (1 - cos) / 2 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

export function highpass(freq: number, q = Math.SQRT1_2, sr = SAMPLE_RATE): Biquad {
  const w = (2 * Math.PI * freq) / sr;
  const alpha = Math.sin(w) / (2 * q);
  const cos = Math.cos(w);
  const a0 = 1 + alpha;
  return { b0: (1 + cos) / 2 / a0, b1: -(1 + cos) / a0, b2: (1 + cos) / 2 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

/**
 * Filters both channels in place (direct form I). One loop for both: each channel's recursion waits on
 * its last output, so two of them side by side run in about the time of one.
 */
export function biquadInPlace(s: Stereo, c: Biquad): void {
  const { left, right } = s;
  let l1 = 0;
  let l2 = 0;
  let m1 = 0;
  let m2 = 0;
  let r1 = 0;
  let r2 = 0;
  let q1 = 0;
  let q2 = 0;
  const { b0, b1, b2, a1, a2 } = c;
  for (let i = 0; i < left.length; i++) {
    const xl = left[i] as number;
    const xr = right[i] as number;
    const yl = b0 * xl + b1 * l1 + b2 * l2 - a1 * m1 - a2 * m2;
    const yr = b0 * xr + b1 * r1 + b2 * r2 - a1 * q1 - a2 * q2;
    l2 = l1;
    l1 = xl;
    m2 = m1;
    m1 = yl;
    r2 = r1;
    r1 = xr;
    q2 = q1;
    q1 = yr;
    left[i] = yl;
    right[i] = yr;
  }
}

/**
 * A small Freeverb-style reverb (4 parallel combs with damping, 2 series
 * all-passes per side; lengths differ left and right for width). Adds `mix`
 * of the wet signal of the mono send `input` into `out`.
 */
export function reverbInto(input: Float32Array, out: Stereo, mix: number, size = 0.8, damp = 0.3): void {
  reverbSide(input, out.left, mix, size, damp, 0);
  reverbSide(input, out.right, mix, size, damp, 23);
}

/** Freeverb's comb and all-pass lengths at 44.1 kHz (one side; the other adds `spread`). */
const COMBS = [1116, 1188, 1277, 1356] as const;
const ALLPASSES = [556, 441] as const;

function reverbSide(input: Float32Array, target: Float32Array, mix: number, size: number, damp: number, spread: number): void {
  // Lengths held in locals, not read off the arrays in the loop: the same samples, twice as fast.
  const n0 = COMBS[0] + spread;
  const n1 = COMBS[1] + spread;
  const n2 = COMBS[2] + spread;
  const n3 = COMBS[3] + spread;
  const m0 = ALLPASSES[0] + spread;
  const m1 = ALLPASSES[1] + spread;
  const c0 = new Float32Array(n0);
  const c1 = new Float32Array(n1);
  const c2 = new Float32Array(n2);
  const c3 = new Float32Array(n3);
  const a0 = new Float32Array(m0);
  const a1 = new Float32Array(m1);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const keep = 1 - damp;
  const n = input.length;
  // Silence before the send's first sound leaves every line at zero and adds +0 to `target`, which changes
  // nothing there but a −0 (a part's buffer, begun at +0 and only added to, holds none): the lines start,
  // empty, where the silence ends.
  let first = 0;
  while (first < n && input[first] === 0) first++;
  let i0 = 0;
  let i1 = 0;
  let i2 = 0;
  let i3 = 0;
  let j0 = 0;
  let j1 = 0;
  // In runs that end where a line wraps (at most 441 samples apart, 464 on the right), each line is read
  // at the sample's index plus its offset, with no wrap test per sample: the same arithmetic, so the same
  // samples, in about four fifths of the time.
  for (let i = first; i < n; ) {
    const run = Math.min(n - i, n0 - i0, n1 - i1, n2 - i2, n3 - i3, m0 - j0, m1 - j1);
    const d0 = i0 - i;
    const d1 = i1 - i;
    const d2 = i2 - i;
    const d3 = i3 - i;
    const e0 = j0 - i;
    const e1 = j1 - i;
    for (const end = i + run; i < end; i++) {
      const x = (input[i] as number) * 0.015;
      const y0 = c0[i + d0] as number;
      const y1 = c1[i + d1] as number;
      const y2 = c2[i + d2] as number;
      const y3 = c3[i + d3] as number;
      s0 = y0 * keep + s0 * damp;
      s1 = y1 * keep + s1 * damp;
      s2 = y2 * keep + s2 * damp;
      s3 = y3 * keep + s3 * damp;
      c0[i + d0] = x + s0 * size;
      c1[i + d1] = x + s1 * size;
      c2[i + d2] = x + s2 * size;
      c3[i + d3] = x + s3 * size;
      let acc = y0 + y1 + y2 + y3;
      const b0 = a0[i + e0] as number;
      a0[i + e0] = acc + b0 * 0.5;
      acc = b0 - acc;
      const b1 = a1[i + e1] as number;
      a1[i + e1] = acc + b1 * 0.5;
      acc = b1 - acc;
      target[i] = (target[i] as number) + acc * mix;
    }
    i0 = (i0 + run) % n0;
    i1 = (i1 + run) % n1;
    i2 = (i2 + run) % n2;
    i3 = (i3 + run) % n3;
    j0 = (j0 + run) % m0;
    j1 = (j1 + run) % m1;
  }
}

/**
 * A soft clipper, in place: linear up to `knee`, then bending smoothly (tanh) towards `ceiling`, never
 * reaching it. What producers put on a drum bus: it shaves the few transients that stand out (a kick
 * under a clap) without a gain that moves, and leaves everything below the knee untouched.
 */
export function softClipInPlace(x: Float32Array, knee: number, ceiling: number): void {
  const room = ceiling - knee;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v > knee) x[i] = knee + room * Math.tanh((v - knee) / room);
    else if (v < -knee) x[i] = -knee - room * Math.tanh((-v - knee) / room);
  }
}

/** Stereo feedback delay (ping-pong) of a mono send, added into `out`. */
export function delayInto(input: Float32Array, out: Stereo, delaySamples: number, feedback: number, mix: number): void {
  const bufL = new Float32Array(delaySamples);
  const bufR = new Float32Array(delaySamples);
  let idx = 0;
  for (let i = 0; i < input.length; i++) {
    const dl = bufL[idx] as number;
    const dr = bufR[idx] as number;
    bufL[idx] = (input[i] as number) + dr * feedback;
    bufR[idx] = dl * feedback;
    idx = idx + 1 === delaySamples ? 0 : idx + 1;
    out.left[i] = (out.left[i] as number) + dl * mix;
    out.right[i] = (out.right[i] as number) + dr * mix;
  }
}

/** A deterministic white-noise table (values in -1..1). */
export function noiseTable(length: number, seed: number): Float32Array {
  const t = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    t[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return t;
}

/**
 * A low-pass that opens over [from, to), in place: a one-pole filter whose cutoff rises exponentially
 * from `fromHz` to 16 kHz, handing over to the unfiltered signal over the last tenth, so that from
 * `to` on the output is the input with no step. The filter starts on the signal's value, so switching
 * it in makes no step either. A build's filter sweep.
 */
export function openingLowpassInPlace(x: Float32Array, from: number, to: number, fromHz: number): void {
  const stop = Math.min(to, x.length);
  const span = Math.max(1, stop - from);
  const rise = (16_000 / fromHz) ** (1 / span);
  let hz = fromHz;
  let y = x[from] ?? 0;
  for (let i = from; i < stop; i++) {
    const p = (i - from) / span;
    y += (1 - Math.exp((-2 * Math.PI * hz) / SAMPLE_RATE)) * ((x[i] as number) - y);
    const dry = p < 0.9 ? 0 : (p - 0.9) / 0.1;
    x[i] = y + dry * ((x[i] as number) - y);
    hz *= rise;
  }
}
