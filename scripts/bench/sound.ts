/**
 * `npm run bench:sound [-- --seeds 3 --duration 30 --genres lofi,trap --name sound]`: issue 15's
 * balance, dynamics and stereo goals as distributions over seeds. For each genre, `--seeds` beats (the genre's
 * default tempo; key and mood vary with the seed) are rendered as the product renders them and
 * measured with ffmpeg, which the engine does not use, beside a second meter in JS
 * (test/helpers/sound.ts). Prints mean and worst per genre and a `goal: …` line per goal. Baseline:
 * the engine before the balance work, measured by this same script (docs/bench/sound-before.json),
 * printed beside each goal when present.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GENRES, type Genre } from '../../src/music/genres.js';
import { SOUND_GOALS, type SoundFigures, measureSound, soundInput } from '../../test/helpers/sound.js';
import { ROOT, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '25' },
    duration: { type: 'string', default: '30' },
    genres: { type: 'string', default: GENRES.join(',') },
    name: { type: 'string', default: 'sound' },
  },
});
const SEEDS = Number(values.seeds);
const DURATION = Number(values.duration);
const genres = (values.genres as string).split(',') as Genre[];
const G = SOUND_GOALS;

const dir = mkdtempSync(join(tmpdir(), 'dawg-bench-sound-'));
const figures: SoundFigures[] = [];
const t0 = performance.now();
try {
  for (const genre of genres)
    for (let seed = 1; seed <= SEEDS; seed++) {
      const f = await measureSound(soundInput(genre, seed, DURATION), dir);
      figures.push(f);
      process.stderr.write(`${genre} seed ${seed}: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      // Each render's files go once measured: 30 s renders are ~11 MB a float WAV.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

type Num = (f: SoundFigures) => number | null;
const present = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null && Number.isFinite(x));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
type Bad = 'high' | 'low' | 'abs';
/** Whether `a` lies further on the wrong side of a goal than `b`. */
const worse = (a: number, b: number, bad: Bad) => (bad === 'high' ? a > b : bad === 'low' ? a < b : Math.abs(a) > Math.abs(b));
/** The item whose value lies furthest on the wrong side of its goal. */
function worstOf<T>(items: T[], value: (t: T) => number, bad: Bad): T | undefined {
  return items.reduce<T | undefined>((w, t) => (w === undefined || worse(value(t), value(w), bad) ? t : w), undefined);
}
const worst = (xs: number[], bad: Bad) => worstOf(xs, (x) => x, bad) ?? Number.NaN;

interface Goal {
  name: string;
  value: Num;
  bad: Bad;
  /** Per-render goals hold for every render; per-genre goals for each genre's mean. */
  per: 'render' | 'genre-mean';
  ok: (x: number) => boolean;
  unit: (x: number) => string;
  applies?: (g: Genre) => boolean;
}

const dB = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} dB`;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
/** The middle of the side's range: a render is judged by its distance from it, as loudness by its distance from the target. */
const SIDE_MIDDLE_DB = (G.sideBelowMidMinDb + G.sideBelowMidMaxDb) / 2;
const GOALS: Goal[] = [
  {
    name: `chords + lead within ${G.melodicWithinDb} dB RMS of the drums, every genre but ambient`,
    value: (f) => f.melodicVsDrumsDb,
    bad: 'abs',
    per: 'render',
    ok: (x) => Math.abs(x) <= G.melodicWithinDb,
    unit: dB,
    applies: (g) => g !== 'ambient',
  },
  {
    name: `energy below 120 Hz ≤ ${100 * G.lowShareMax} % of the mix, mean per genre`,
    value: (f) => f.lowShare,
    bad: 'high',
    per: 'genre-mean',
    ok: (x) => x <= G.lowShareMax,
    unit: pct,
  },
  {
    name: `2–8 kHz ≥ ${100 * G.presenceShareMin} % of the mix, mean per genre`,
    value: (f) => f.presenceShare,
    bad: 'low',
    per: 'genre-mean',
    ok: (x) => x >= G.presenceShareMin,
    unit: pct,
  },
  {
    name: `hats within ${G.hatsWithinDb} dB RMS of snare and clap`,
    value: (f) => f.hatsVsSnareDb,
    bad: 'abs',
    per: 'render',
    ok: (x) => Math.abs(x) <= G.hatsWithinDb,
    unit: dB,
  },
  {
    name: `the kick ≥ ${G.lowEndLeadDb} dB over the bass below 120 Hz in its first 50 ms (the bass ducks)`,
    value: (f) => f.kickOverBassDb,
    bad: 'low',
    per: 'render',
    ok: (x) => x >= G.lowEndLeadDb,
    unit: dB,
  },
  {
    name: `the bass ≥ ${G.lowEndLeadDb} dB over the kick below 120 Hz 150–400 ms after it (the kick is short)`,
    value: (f) => f.bassOverKickTailDb,
    bad: 'low',
    per: 'render',
    ok: (x) => x >= G.lowEndLeadDb,
    unit: dB,
  },
  {
    name: `the master's gain moves ≤ ${G.gainSwingMaxDb} dB within any beat`,
    value: (f) => f.gainSwingDb,
    bad: 'high',
    per: 'render',
    ok: (x) => x <= G.gainSwingMaxDb,
    unit: (x) => `${x.toFixed(2)} dB`,
  },
  {
    name: `the side ${G.sideBelowMidMinDb}–${G.sideBelowMidMaxDb} dB RMS below the mid (ffmpeg pan, astats)`,
    value: (f) => f.sideBelowMidDb - SIDE_MIDDLE_DB,
    bad: 'abs',
    per: 'render',
    ok: (x) => SIDE_MIDDLE_DB + x >= G.sideBelowMidMinDb && SIDE_MIDDLE_DB + x <= G.sideBelowMidMaxDb,
    unit: (x) => `${(SIDE_MIDDLE_DB + x).toFixed(1)} dB`,
  },
  {
    name: `the mono fold-down within ${G.monoFoldMaxLu} LU of the stereo's loudness (ffmpeg ebur128, dual-mono)`,
    value: (f) => f.monoFoldLu,
    bad: 'high',
    per: 'render',
    ok: (x) => x <= G.monoFoldMaxLu,
    unit: (x) => `${x.toFixed(1)} LU`,
  },
  {
    name: `loudness ${G.loudnessLufs} ±${G.loudnessToleranceLu} LUFS (ffmpeg ebur128)`,
    value: (f) => f.loudnessLufs - G.loudnessLufs,
    bad: 'abs',
    per: 'render',
    ok: (x) => Math.abs(x) <= G.loudnessToleranceLu,
    unit: (x) => `${(G.loudnessLufs + x).toFixed(2)} LUFS`,
  },
  {
    name: `true peak ≤ ${G.truePeakMaxDbtp} dBTP (ffmpeg ebur128)`,
    value: (f) => f.truePeakDbtp,
    bad: 'high',
    per: 'render',
    ok: (x) => x <= G.truePeakMaxDbtp,
    unit: (x) => `${x.toFixed(2)} dBTP`,
  },
  {
    name: 'the loudness loop converges',
    value: (f) => (f.converged ? 1 : 0),
    bad: 'low',
    per: 'render',
    ok: (x) => x === 1,
    unit: (x) => (x === 1 ? 'converged' : 'did not converge'),
  },
];

/** Per goal and genre: mean, worst, and whether the goal holds there. */
function judge(all: SoundFigures[], goal: Goal) {
  return genres.flatMap((genre) => {
    const xs = present(all.filter((f) => f.genre === genre).map(goal.value));
    if (!xs.length || (goal.applies && !goal.applies(genre))) return [];
    const m = mean(xs);
    const w = worst(xs, goal.bad);
    return [{ genre, mean: m, worst: w, met: goal.per === 'genre-mean' ? goal.ok(m) : xs.every(goal.ok) }];
  });
}

const before: SoundFigures[] | null = (() => {
  const path = `${ROOT}docs/bench/sound-before.json`;
  if (values.name === 'sound-before' || !existsSync(path)) return null;
  return (JSON.parse(readFileSync(path, 'utf8')) as { figures: SoundFigures[] }).figures;
})();

const columns: [string, Goal][] = [
  ['melodic − drums', GOALS[0] as Goal],
  ['< 120 Hz', GOALS[1] as Goal],
  ['2–8 kHz', GOALS[2] as Goal],
  ['hats − snare', GOALS[3] as Goal],
  ['kick over bass', GOALS[4] as Goal],
  ['bass over kick tail', GOALS[5] as Goal],
  ['gain swing', GOALS[6] as Goal],
  ['side below mid', GOALS[7] as Goal],
  ['mono fold, LU', GOALS[8] as Goal],
];
const fmt = (goal: Goal, x: number) =>
  Number.isFinite(x) ? goal.unit(x).replace(' dB', '').replace(' %', '%').replace(' LU', '') : '–';
console.log(`${figures.length} renders, ${SEEDS} seeds × ${genres.length} genres, ${DURATION} s each, mean / worst:\n`);
console.log(
  table(
    genres.map((genre) => {
      const row: Record<string, string> = { genre };
      for (const [label, goal] of columns) {
        const j = judge(figures, goal).find((r) => r.genre === genre);
        row[label] = j ? `${fmt(goal, j.mean)} / ${fmt(goal, j.worst)}${j.met ? '' : ' ✗'}` : '–';
      }
      const own = figures.filter((f) => f.genre === genre);
      const lufs = own.map((f) => f.loudnessLufs);
      row.LUFS = `${Math.min(...lufs).toFixed(2)}…${Math.max(...lufs).toFixed(2)}`;
      row['dBTP max'] = Math.max(...own.map((f) => f.truePeakDbtp)).toFixed(2);
      row.converged = `${own.filter((f) => f.converged).length}/${own.length}`;
      return row;
    }),
  ),
);

// The second meter: how far the JS FFT and the engine's own gain curve read from ffmpeg.
const spread = (a: Num, b: Num) => Math.max(...figures.map((f) => Math.abs((a(f) ?? 0) - (b(f) ?? 0))));
const agreement = {
  lowSharePoints:
    100 *
    spread(
      (f) => f.lowShare,
      (f) => f.lowShareJs,
    ),
  presenceSharePoints:
    100 *
    spread(
      (f) => f.presenceShare,
      (f) => f.presenceShareJs,
    ),
  gainSwingDb: spread(
    (f) => f.gainSwingDb,
    (f) => f.gainSwingExactDb,
  ),
  sideBelowMidDb: spread(
    (f) => f.sideBelowMidDb,
    (f) => f.sideBelowMidDbJs,
  ),
};
console.log(
  `\nsecond meter (JS FFT; the engine's gain curve; JS mid/side) against ffmpeg, largest difference: < 120 Hz ${agreement.lowSharePoints.toFixed(2)} points, 2–8 kHz ${agreement.presenceSharePoints.toFixed(2)} points, gain swing ${agreement.gainSwingDb.toFixed(2)} dB, side below mid ${agreement.sideBelowMidDb.toFixed(2)} dB\n`,
);

const results = GOALS.map((goal) => {
  const rows = judge(figures, goal);
  const failing = rows.filter((r) => !r.met).map((r) => r.genre);
  const pick = goal.per === 'genre-mean' ? (r: (typeof rows)[number]) => r.mean : (r: (typeof rows)[number]) => r.worst;
  const worstRow = worstOf(rows, pick, goal.bad);
  const was = before ? judge(before, goal) : [];
  const wasWorst = was.length ? worst(was.map(pick), goal.bad) : Number.NaN;
  const wasFailing = was.filter((r) => !r.met).length;
  const what = goal.per === 'genre-mean' ? 'worst genre mean' : 'worst render';
  // A goal the baseline was not measured for (stereo width came later) prints none.
  const baseline = was.length
    ? `; before: ${Number.isFinite(wasWorst) ? goal.unit(wasWorst) : '–'}, ${wasFailing}/${was.length} genres not met`
    : '';
  const figure = worstRow ? `${what} ${goal.unit(pick(worstRow))}, ${worstRow.genre}` : 'no render it applies to';
  console.log(
    `goal: ${goal.name} (${figure}${failing.length ? `; not met in ${failing.join(', ')}` : ''}${baseline}): ${failing.length ? 'NOT met' : 'met'}`,
  );
  return { goal: goal.name, per: goal.per, rows, met: failing.length === 0 };
});
const tp16 = worstOf(figures, (f) => f.truePeak16xDbtp, 'high');
if (tp16)
  console.log(
    `check: true peak by 16× interpolation, stricter than BS.1770's 4× (not a goal): worst ${tp16.truePeak16xDbtp.toFixed(2)} dBTP, ${tp16.genre} seed ${tp16.seed}; ${figures.filter((f) => f.truePeak16xDbtp > G.truePeakMaxDbtp).length}/${figures.length} renders above ${G.truePeakMaxDbtp} dBTP`,
  );
const seconds = (performance.now() - t0) / 1000;
console.log(`\n${seconds.toFixed(0)} s (${(seconds / figures.length).toFixed(1)} s a render, measuring included)`);
console.log(
  `wrote ${await writeResult(values.name as string, { params: { seeds: SEEDS, durationSec: DURATION, genres }, goals: SOUND_GOALS, results, agreement, figures, seconds })}`,
);
