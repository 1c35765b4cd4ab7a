/**
 * npm run bench:detect [-- --clips 100 --seconds 20]: tempo and key detection (src/music/detect.ts)
 * on clips the engine renders across genres, tempos and keys, so the request is the ground truth;
 * then the same clips again with noise at -30 dB (relative to the clip's RMS) and through MP3 at
 * 128 kbit/s (our encoder; ffmpeg decodes). Tempo counts as right within ±1 bpm; half and double
 * tempo are counted apart. Key: tonic and mode. Floors (issue 12): 90 % of clean clips, 80 % of noisy
 * ones, on both. Baseline in the same run: what one knows without listening (each genre's default
 * tempo; the most common key of the set).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { detectKey, detectTempo, mono } from '../../src/music/detect.js';
import { DEFAULT_BPM, GENRES, type Genre } from '../../src/music/genres.js';
import type { MusicalKey } from '../../src/music/keys.js';
import { encodeMp3 } from '../../worker/engine/encode.js';
import { renderBeat, SAMPLE_RATE } from '../../worker/engine/index.js';
import { ffmpegPath } from '../lib/ffmpeg.mjs';
import { summarize, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: { clips: { type: 'string', default: '100' }, seconds: { type: 'string', default: '20' } },
});
const CLIPS = Number(values.clips);
const SECONDS = Number(values.seconds);
const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

/** A deterministic spread: genre by index, tempo within ±12 % of the genre's default, any of 24 keys. */
function clip(i: number): { genre: Genre; bpm: number; key: MusicalKey } {
  const genre = GENRES[i % GENRES.length] as Genre;
  const spread = ((i * 37) % 25) / 100 - 0.12;
  const bpm = Math.min(220, Math.max(40, Math.round(DEFAULT_BPM[genre] * (1 + spread))));
  const pitchClass = (i * 7) % 12;
  const mode = i % 3 === 0 ? 'major' : 'minor';
  return { genre, bpm, key: { pitchClass, tonic: NAMES[pitchClass] as string, mode } };
}

function noisy(x: Float32Array, seed: number): Float32Array {
  let rms = 0;
  for (const v of x) rms += v * v;
  rms = Math.sqrt(rms / x.length);
  const level = rms * 10 ** (-30 / 20);
  let s = seed >>> 0 || 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // xorshift uniform, summed twice: roughly Gaussian, unit variance after scaling.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const a = (s >>> 0) / 2 ** 32;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const b = (s >>> 0) / 2 ** 32;
    out[i] = (x[i] as number) + level * (a + b - 1) * Math.sqrt(6);
  }
  return out;
}

async function throughMp3(x: Float32Array): Promise<Float32Array> {
  const { mp3 } = await encodeMp3({ left: x, right: x });
  const r = spawnSync(
    ffmpegPath(),
    ['-v', 'error', '-i', 'pipe:0', '-f', 'f32le', '-ac', '1', '-ar', String(SAMPLE_RATE), 'pipe:1'],
    {
      input: mp3,
      maxBuffer: 1 << 30,
    },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not decode: ${r.stderr}`);
  const bytes = r.stdout as Buffer;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

type Verdict = 'exact' | 'half' | 'double' | 'wrong';
const tempoVerdict = (got: number, want: number): Verdict =>
  Math.abs(got - want) <= 1
    ? 'exact'
    : Math.abs(got * 2 - want) <= 2
      ? 'half'
      : Math.abs(got / 2 - want) <= 1
        ? 'double'
        : 'wrong';
const keyRight = (got: MusicalKey, want: MusicalKey) => got.pitchClass === want.pitchClass && got.mode === want.mode;

const results: { i: number; genre: Genre; bpm: number; key: string; clean: object; noisy: object }[] = [];
const tally = { clean: { tempo: 0, half: 0, double: 0, key: 0 }, noisy: { tempo: 0, half: 0, double: 0, key: 0 } };
const keyCounts = new Map<string, number>();
let baselineTempo = 0;
/** Time detectTempo + detectKey took per clip (both sets), ms. */
const detectMs: number[] = [];
const started = performance.now();
for (let i = 0; i < CLIPS; i++) {
  const want = clip(i);
  const track = await renderBeat({
    genre: want.genre,
    bpm: want.bpm,
    key: want.key,
    mood: 'chill',
    durationSec: SECONDS,
    seed: 1000 + i,
  });
  const samples = mono([track.mix.left, track.mix.right]);
  const row = { i, genre: want.genre, bpm: want.bpm, key: `${want.key.tonic} ${want.key.mode}`, clean: {}, noisy: {} };
  for (const [kind, audio] of [
    ['clean', samples],
    ['noisy', await throughMp3(noisy(samples, 99 + i))],
  ] as const) {
    const detectStarted = performance.now();
    const bpm = detectTempo(audio, SAMPLE_RATE);
    const { key } = detectKey(audio, SAMPLE_RATE);
    detectMs.push(performance.now() - detectStarted);
    const verdict = tempoVerdict(bpm, want.bpm);
    const t = tally[kind];
    if (verdict === 'exact') t.tempo++;
    if (verdict === 'half') t.half++;
    if (verdict === 'double') t.double++;
    if (keyRight(key, want.key)) t.key++;
    row[kind] = {
      bpm: Number(bpm.toFixed(2)),
      tempo: verdict,
      key: `${key.tonic} ${key.mode}`,
      keyRight: keyRight(key, want.key),
    };
  }
  keyCounts.set(row.key, (keyCounts.get(row.key) ?? 0) + 1);
  if (Math.abs(DEFAULT_BPM[want.genre] - want.bpm) <= 1) baselineTempo++;
  results.push(row);
}
const seconds = (performance.now() - started) / 1000;
const commonest = Math.max(...keyCounts.values());
const pct = (n: number) => `${((100 * n) / CLIPS).toFixed(0)} %`;
const detectTiming = summarize(detectMs);
console.log(`${CLIPS} clips of ${SECONDS} s (8 genres), rendered and detected in ${seconds.toFixed(0)} s`);
console.log(
  `detection (tempo + key) per ${SECONDS} s clip: p50 ${detectTiming.p50.toFixed(0)} ms, max ${detectTiming.max.toFixed(0)} ms\n`,
);
console.log(
  table([
    {
      set: 'baseline: genre default tempo, commonest key',
      'tempo ±1 bpm': pct(baselineTempo),
      'half / double': '-',
      'key (tonic + mode)': pct(commonest),
    },
    {
      set: 'clean',
      'tempo ±1 bpm': pct(tally.clean.tempo),
      'half / double': `${tally.clean.half} / ${tally.clean.double}`,
      'key (tonic + mode)': pct(tally.clean.key),
    },
    {
      set: 'noise at -30 dB, MP3 128k',
      'tempo ±1 bpm': pct(tally.noisy.tempo),
      'half / double': `${tally.noisy.half} / ${tally.noisy.double}`,
      'key (tonic + mode)': pct(tally.noisy.key),
    },
  ]),
);
const met = {
  clean: tally.clean.tempo >= 0.9 * CLIPS && tally.clean.key >= 0.9 * CLIPS,
  noisy: tally.noisy.tempo >= 0.8 * CLIPS && tally.noisy.key >= 0.8 * CLIPS,
};
console.log(
  `\nfloors: clean ≥ 90 % on both: ${met.clean ? 'met' : 'NOT met'}; noisy ≥ 80 % on both: ${met.noisy ? 'met' : 'NOT met'}`,
);
for (const g of GENRES) {
  const rows = results.filter((r) => r.genre === g);
  const ok = (k: 'clean' | 'noisy', f: string) =>
    rows.filter((r) => (r[k] as Record<string, unknown>)[f] === (f === 'tempo' ? 'exact' : true)).length;
  console.log(
    `  ${g.padEnd(8)} clean tempo ${ok('clean', 'tempo')}/${rows.length}, key ${ok('clean', 'keyRight')}/${rows.length}; noisy tempo ${ok('noisy', 'tempo')}/${rows.length}, key ${ok('noisy', 'keyRight')}/${rows.length}`,
  );
}
console.log(
  `wrote ${await writeResult('detect', { params: { clips: CLIPS, seconds: SECONDS }, tally, detectMs: { p50: detectTiming.p50, max: detectTiming.max }, baseline: { tempo: baselineTempo, key: commonest }, met, results })}`,
);
