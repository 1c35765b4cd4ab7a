/**
 * Mastering: loudness normalization to a target (integrated LUFS, BS.1770) under a
 * true-peak ceiling. Everything is a per-sample gain curve applied to the mix
 * (stereo-linked), so the same curve applied to each stem makes the stems sum to
 * the master exactly.
 *
 * A beat is mixed to sit near the target's peak-to-loudness ratio already, so its
 * master only rides the gain: a slow look-ahead leveller whose gain moves at most
 * LEVEL_DB_PER_BEAT in a beat, and a fast limiter allowed FAST_LIMIT_DB for what
 * the leveller leaves. Nothing pumps in time with the drums. Any other mix (an
 * upload, a project) gets glue compression and the fast limiter alone, which can
 * take as much off its peaks as a louder target needs.
 */
import { Failure } from '../../src/failures.js';
import { type Stereo, SAMPLE_RATE, dbToGain, gainToDb, stereo } from './dsp.js';
import { channelTruePeak, gatedLoudness, integratedLoudness, segmentEnergy, truePeakEnvelope } from './loudness.js';

/** Deterministic for its input, so not retried. */
export class SilentRenderError extends Failure {
  constructor() {
    super('ENGINE_FAILED', 'the render is silent: nothing to master', { final: true });
    this.name = 'SilentRenderError';
  }
}

export interface MasterResult {
  out: Stereo;
  gain: Float32Array;
  loudnessLufs: number;
  truePeakDb: number;
  /** Whether loudness and true peak both landed on target within the loop (else loudness was traded for the ceiling). */
  converged: boolean;
}

const LOOKAHEAD = Math.round(0.002 * SAMPLE_RATE);
/** How far a beat's master may move its gain in one beat, slowly (the leveller) … */
const LEVEL_DB_PER_BEAT = 0.5;
/** … and how much the fast limiter may take off on top. Within a beat: at most the sum. */
const FAST_LIMIT_DB = 0.9;
const TP_MARGIN = 0.7;
/**
 * What a beat may give of TP_MARGIN when its loudness is stuck short of the target: its peaks stand so
 * far over its loudness at nearly every beat that the leveller and the limiter, within their bounds,
 * take off whatever make-up is added (hiphop seed 17 of bench:sound stopped at −14.5 LUFS). Our meter
 * reads at most 0.3 dB under ffmpeg's on a beat's gentle limiting (bench:sound: −1.5 dBTP worst), so
 * the ceiling still holds with room.
 */
const MARGIN_RESCUE_DB = 0.3;
/**
 * The loudest target the rescue is for: measured with ffmpeg at −14 LUFS (bench:sound). A louder
 * master limits harder, where ffmpeg has read up to 0.5 dB over our meter (see TP_MARGIN's use).
 */
const MARGIN_RESCUE_MAX_LUFS = -12;

export function applyGain(s: Stereo, gain: Float32Array, out: Stereo = stereo(s.left.length)): Stereo {
  for (let i = 0; i < gain.length; i++) {
    const g = gain[i] as number;
    out.left[i] = (s.left[i] as number) * g;
    out.right[i] = (s.right[i] as number) * g;
  }
  return out;
}

function peakEnvelope(s: Stereo, gain: Float32Array | number): Float32Array {
  const n = s.left.length;
  const env = new Float32Array(n);
  const isCurve = typeof gain !== 'number';
  for (let i = 0; i < n; i++) {
    const g = isCurve ? ((gain as Float32Array)[i] as number) : (gain as number);
    env[i] = Math.max(Math.abs(s.left[i] as number), Math.abs(s.right[i] as number)) * g;
  }
  return env;
}

/**
 * How much of a loop's end the compressor and limiter run through before its start, to begin
 * where they will end: many times their release, so the gain at the seam is continuous.
 */
const LOOP_WARMUP = SAMPLE_RATE;

/** A gentle bus compressor's gain curve (threshold in dBFS, 2.5:1, 5 ms / 150 ms), written over `peaks`. */
function compressorGainInPlace(peaks: Float32Array, thresholdDb: number, loop: boolean): Float32Array {
  const g = peaks;
  const att = Math.exp(-1 / (0.005 * SAMPLE_RATE));
  const rel = Math.exp(-1 / (0.15 * SAMPLE_RATE));
  const ratio = 2.5;
  const follow = (level: number, x: number) => (x > level ? att * level + (1 - att) * x : rel * level + (1 - rel) * x);
  let level = 0;
  if (loop)
    for (let i = Math.max(0, peaks.length - LOOP_WARMUP); i < peaks.length; i++) level = follow(level, peaks[i] as number);
  for (let i = 0; i < peaks.length; i++) {
    const x = peaks[i] as number;
    level = follow(level, x);
    const db = 20 * Math.log10(level + 1e-9);
    const over = db - thresholdDb;
    g[i] = over > 0 ? dbToGain(-over * (1 - 1 / ratio)) : 1;
  }
  return g;
}

/**
 * Look-ahead limiter gain, written over `peaks`: never lets |x·g| exceed `ceiling`; ramps down
 * ahead of peaks, releases over 80 ms. In a loop, the end looks ahead into the start and the start
 * releases from where the end left off.
 */
function limiterGainInPlace(peaks: Float32Array, ceiling: number, loop: boolean): Float32Array {
  const n = peaks.length;
  const g = peaks;
  for (let i = 0; i < n; i++) {
    const p = peaks[i] as number;
    g[i] = p > ceiling ? ceiling / p : 1;
  }
  // Backward pass: reach each reduction linearly over the look-ahead window.
  const step = 1 / LOOKAHEAD;
  for (let i = n - 2; i >= 0; i--) g[i] = Math.min(g[i] as number, (g[i + 1] as number) + step);
  if (loop)
    for (let i = n - 1; i >= Math.max(0, n - LOOKAHEAD); i--) g[i] = Math.min(g[i] as number, (g[(i + 1) % n] as number) + step);
  // Forward pass: release smoothly, never above what the peak allows.
  const rel = 1 - Math.exp(-1 / (0.08 * SAMPLE_RATE));
  let prev = 1;
  if (loop) for (let i = Math.max(0, n - LOOP_WARMUP); i < n; i++) prev = Math.min(g[i] as number, prev + (1 - prev) * rel);
  for (let i = 0; i < n; i++) {
    const target = g[i] as number;
    prev = Math.min(target, prev + (1 - prev) * rel);
    g[i] = prev;
  }
  return g;
}

/**
 * Look-ahead leveller gain, written over `required` (the gain each frame needs, ≤ 1): the highest
 * curve that never exceeds it and never moves faster than `dbPerFrame`, down or up. Offline, it starts
 * to ease down as far ahead of a peak as its slope needs. A min-filter with bounded slope is
 * idempotent, so for a loop running each pass twice round settles it.
 */
function levellerGainInPlace(required: Float32Array, dbPerFrame: number, loop: boolean): Float32Array {
  const g = required;
  const n = g.length;
  const up = dbToGain(dbPerFrame);
  // A value set from its neighbour holds once that neighbour holds: the second time round stops at the
  // first value it leaves as it was (the ones after it were set from it, and hold too).
  const back = (again: boolean) => {
    for (let i = n - 2; i >= 0; i--) {
      const v = Math.min(g[i] as number, (g[i + 1] as number) * up);
      if (again && Math.fround(v) === g[i]) return;
      g[i] = v;
    }
  };
  const forth = (again: boolean) => {
    for (let i = 1; i < n; i++) {
      const v = Math.min(g[i] as number, (g[i - 1] as number) * up);
      if (again && Math.fround(v) === g[i]) return;
      g[i] = v;
    }
  };
  back(false);
  if (loop) {
    g[n - 1] = Math.min(g[n - 1] as number, (g[0] as number) * up);
    back(true);
  }
  forth(false);
  if (loop) {
    g[0] = Math.min(g[0] as number, (g[n - 1] as number) * up);
    forth(true);
  }
  return g;
}

/**
 * Masters `mix` IN PLACE: on return `mix` holds the master (also returned as
 * `out`). Besides the mix it holds four mono buffers (the compressor's
 * curve, which a beat does without, peak envelope, gain curve, one output
 * channel while measuring) instead of a second stereo copy and a buffer per
 * step: 300 s at 44.1 kHz is 212 MB of them, against 106 MB for the mix itself. With `loop` the mix is a loop:
 * its gain runs on from its end into its start, so it does not jump at the
 * seam. With `beatSec` it is a beat (see the top of this file): levelled, not
 * compressed.
 */
export function master(
  mix: Stereo,
  targetLufs = -14,
  { ceilingDbtp = -1, loop = false, beatSec }: { ceilingDbtp?: number; loop?: boolean; beatSec?: number } = {},
): MasterResult {
  const l0 = integratedLoudness(mix);
  if (!Number.isFinite(l0)) throw new SilentRenderError();
  // Compress relative to the loudness target (not a beat), then normalize and limit, re-measuring until on target.
  const pre = dbToGain(targetLufs - l0);
  // A beat's base gain is that one number; any other mix's is the compressor's curve times it.
  const curve = beatSec ? undefined : compressorGainInPlace(peakEnvelope(mix, pre), targetLufs + 4, loop);
  if (curve) for (let i = 0; i < curve.length; i++) curve[i] = pre * (curve[i] as number);
  const levelDbPerFrame = beatSec ? LEVEL_DB_PER_BEAT / (beatSec * SAMPLE_RATE) : 0;
  // Limit the true-peak envelope (inter-sample peaks included) and keep TP_MARGIN below the ceiling by our
  // meter: ffmpeg's ebur128 reads up to ~0.5 dB higher on dense, re-limited material (a trap beat
  // re-mastered to -10 LUFS: 0.15-0.45 dB over six seeds; one CI run read -0.9 dBTP where ours read -1.4
  // with a 0.4 dB margin).
  let peakCeiling = dbToGain(ceilingDbtp - TP_MARGIN - 0.1);
  let tpLimit = ceilingDbtp - TP_MARGIN;
  let rescued = false;
  const peaks = truePeakEnvelope(mix);
  if (curve) for (let i = 0; i < peaks.length; i++) peaks[i] = (peaks[i] as number) * (curve[i] as number);
  else for (let i = 0; i < peaks.length; i++) peaks[i] = (peaks[i] as number) * pre;
  const n = peaks.length;
  const gain = new Float32Array(n);
  const channel = new Float32Array(n);
  let makeup = 1;
  let last: { loudness: number; makeupDb: number; peakOk: boolean; ceiling: number } | undefined;
  let loudness = l0;
  let tp = 0;
  let converged = false;
  // Loudness and true peak of mix × gain, one output channel at a time.
  const measure = () => {
    const energy: Float64Array[] = [];
    let peak = 0;
    for (const x of [mix.left, mix.right]) {
      let samplePeak = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.fround((x[i] as number) * (gain[i] as number));
        channel[i] = v;
        samplePeak = Math.max(samplePeak, Math.abs(v));
      }
      energy.push(segmentEnergy(channel, SAMPLE_RATE));
      peak = Math.max(peak, channelTruePeak(channel, samplePeak));
    }
    loudness = gatedLoudness(energy[0] as Float64Array, energy[1] as Float64Array);
    tp = gainToDb(peak);
  };
  // Loudness is steered by the make-up gain, the true peak by the limiter's ceiling; both are re-measured.
  for (let iteration = 0; iteration < 6; iteration++) {
    const ceilingUsed = peakCeiling;
    if (levelDbPerFrame) {
      // The leveller aims FAST_LIMIT_DB over the ceiling; the fast limiter (in `channel`) takes off the rest.
      const relaxed = peakCeiling * dbToGain(FAST_LIMIT_DB);
      for (let i = 0; i < n; i++) gain[i] = Math.min(1, relaxed / ((peaks[i] as number) * makeup + 1e-12));
      levellerGainInPlace(gain, levelDbPerFrame, loop);
      for (let i = 0; i < n; i++) channel[i] = (peaks[i] as number) * makeup * (gain[i] as number);
      limiterGainInPlace(channel, peakCeiling, loop);
      if (curve)
        for (let i = 0; i < n; i++) gain[i] = (curve[i] as number) * makeup * (gain[i] as number) * (channel[i] as number);
      else for (let i = 0; i < n; i++) gain[i] = pre * makeup * (gain[i] as number) * (channel[i] as number);
    } else {
      for (let i = 0; i < n; i++) gain[i] = (peaks[i] as number) * makeup;
      limiterGainInPlace(gain, peakCeiling, loop);
      for (let i = 0; i < n; i++) gain[i] = (curve ? (curve[i] as number) : pre) * makeup * (gain[i] as number);
    }
    measure();
    const loudOk = Math.abs(loudness - targetLufs) < 0.2;
    const peakOk = tp <= tpLimit;
    if (loudOk && peakOk) {
      converged = true;
      break;
    }
    if (!peakOk) peakCeiling *= dbToGain(tpLimit - tp - 0.05);
    if (!loudOk) {
      // Where the limiters hold much of the mix, a dB of make-up buys less than a dB of loudness: step
      // by the slope the last two tries measured (a secant), not one for one.
      const slope = last && peakOk ? (loudness - last.loudness) / (gainToDb(makeup) - last.makeupDb) : 1;
      // Stuck: two tries under the same ceiling, both within it, and the make-up buying almost nothing
      // (not a loudness that fell because the ceiling was lowered in between).
      const stuck = peakOk && last?.peakOk && last.ceiling === ceilingUsed && slope >= 0 && slope < 0.1;
      if (levelDbPerFrame && !rescued && stuck && loudness < targetLufs && targetLufs <= MARGIN_RESCUE_MAX_LUFS) {
        rescued = true;
        tpLimit += MARGIN_RESCUE_DB;
        peakCeiling *= dbToGain(MARGIN_RESCUE_DB);
      }
      last = { loudness, makeupDb: gainToDb(makeup), peakOk, ceiling: ceilingUsed };
      makeup *= dbToGain((targetLufs - loudness) / Math.min(1, Math.max(0.2, Number.isFinite(slope) ? slope : 1)));
    }
  }
  // The ceiling is a promise: if the loop ran out, trade loudness for it.
  if (tp > tpLimit) {
    const trim = dbToGain(tpLimit - tp);
    for (let i = 0; i < n; i++) gain[i] = (gain[i] as number) * trim;
    measure();
  }
  return { out: applyGain(mix, gain, mix), gain, loudnessLufs: loudness, truePeakDb: tp, converged };
}
