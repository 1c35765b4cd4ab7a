/**
 * The harmony of a render: which progression (chosen by mood and seed from a pool, now and then with
 * a chord borrowed from the parallel mode), the chord of every bar laid over the sections so that the
 * key asked for is the key heard (test/unit/key-idiom.test.ts), a contrasting progression for the
 * break, and the pitches of a chord voiced close to the one before (voice leading, so inversions).
 */
import type { MusicalKey } from '../../src/music/keys.js';
import { DOMINANT, chordDegrees, degreeOverChord } from '../../src/music/theory.js';
import type { Chord, Section } from './arrangement.js';
import type { Rng } from './rng.js';

const TONIC = 0;

/**
 * Chord roots (scale degrees), one chord a step, by mood and mode. Every one sounds the tonic, most
 * open on it: a loop that never reaches it reads as another key. Loops that the key test
 * (test/unit/key-idiom.test.ts) read as another key in more than a fifth of renders were left out:
 * I–iii–vi–V and I–vi–iii–V in major, i–VII–III–VI and i–III–VII–III in minor, and their kin. No
 * two of a list are the same once minor's half cadence (below) has ended them on V.
 */
// biome-ignore format: a table, one mood a line
const POOLS: Record<'major' | 'minor', Record<MoodGroup, number[][]>> = {
  major: {
    mellow: [[0, 3, 5, 4], [0, 3, 1, 4], [0, 2, 3, 4], [0, 5, 3, 4], [0, 1, 3, 4], [0, 3, 0, 4], [0, 5, 3, 0], [0, 3, 4, 3]],
    happy: [[0, 4, 5, 3], [0, 5, 3, 4], [3, 4, 0, 5], [0, 3, 4, 3], [0, 3, 0, 4], [0, 1, 3, 0], [0, 2, 3, 4], [3, 0, 3, 4]],
    dark: [[0, 3, 4, 3], [5, 3, 0, 4], [0, 5, 3, 4], [0, 3, 5, 4], [0, 1, 3, 4], [0, 5, 3, 0], [0, 3, 1, 4], [0, 4, 5, 3]],
    sad: [[5, 3, 0, 4], [0, 5, 3, 4], [0, 3, 5, 4], [0, 1, 3, 0], [0, 4, 5, 3], [0, 3, 1, 4], [0, 5, 3, 0], [3, 4, 0, 5]],
    dream: [[0, 3, 0, 4], [3, 0, 3, 4], [0, 2, 3, 0], [0, 3, 5, 4], [0, 5, 3, 0], [0, 1, 3, 0], [0, 3, 4, 3], [0, 3, 1, 4]],
  },
  minor: {
    mellow: [[0, 5, 2, 6], [0, 6, 5, 4], [0, 5, 3, 4], [0, 3, 4, 0], [0, 2, 3, 4], [0, 6, 3, 4], [0, 5, 1, 4], [0, 3, 5, 6], [0, 0, 5, 4], [0, 2, 5, 6]],
    happy: [[0, 5, 0, 6], [0, 2, 5, 6], [0, 5, 3, 6], [0, 5, 6, 0], [0, 2, 3, 6], [0, 6, 5, 4], [0, 3, 0, 4], [0, 6, 3, 5], [0, 3, 5, 6], [0, 0, 5, 6]],
    dark: [[0, 5, 3, 4], [0, 0, 5, 4], [0, 3, 0, 4], [0, 5, 1, 4], [0, 3, 5, 4], [0, 6, 5, 4], [0, 0, 3, 4], [0, 1, 0, 4], [0, 5, 2, 6], [0, 2, 5, 4]],
    sad: [[0, 5, 2, 6], [0, 3, 5, 4], [0, 5, 0, 4], [0, 2, 5, 4], [0, 6, 3, 4], [0, 6, 5, 4], [0, 5, 3, 4], [0, 3, 0, 4], [0, 0, 5, 4], [0, 1, 0, 4]],
    dream: [[0, 5, 3, 6], [0, 2, 5, 6], [0, 5, 2, 6], [0, 6, 3, 5], [0, 2, 3, 6], [0, 5, 6, 0], [0, 3, 5, 6], [0, 3, 4, 0], [0, 0, 5, 6], [0, 5, 0, 6]],
  },
};

type MoodGroup = 'mellow' | 'happy' | 'dark' | 'sad' | 'dream';

function moodGroup(mood: string): MoodGroup {
  const m = mood.toLowerCase();
  if (/dark|aggressive|evil|tense|angry|heavy/.test(m)) return 'dark';
  if (/happy|uplifting|bright|energetic|upbeat|driving/.test(m)) return 'happy';
  if (/sad|melanchol|emotional|nostalg/.test(m)) return 'sad';
  if (/dream|ambient|romantic|ethereal|calm/.test(m)) return 'dream';
  return 'mellow';
}

/** The progressions a mood chooses from. */
function progressionsFor(mood: string, minor: boolean): number[][] {
  return POOLS[minor ? 'minor' : 'major'][moodGroup(mood)];
}

/**
 * Chords a progression may borrow from the parallel mode (modal mixture), by the root they replace:
 * in major iv for IV, ♭VI for vi and ♭VII for V (only as the last chord, the backdoor cadence);
 * in minor the parallel major's IV for iv (IVmaj7 where the genre plays sevenths). One chord a
 * progression at most, never the first.
 */
function borrowing(mode: 'major' | 'minor', root: number, last: boolean): Chord | undefined {
  if (mode === 'minor') return root === 3 ? { root: 3, borrowed: true } : undefined;
  if (root === 3 || root === 5) return { root, borrowed: true };
  if (root === DOMINANT && last) return { root: 6, borrowed: true };
  return undefined;
}

export interface HarmonyPlan {
  /** The main sections' progression, one chord a step. */
  main: Chord[];
  /** The break's: another progression, so the break changes the harmony. */
  contrast: Chord[];
}

/** The progressions of a render: the mood's pool picked by seed, with a borrowed chord 45 % of the time. */
export function planHarmony(mood: string, mode: 'major' | 'minor', rng: Rng): HarmonyPlan {
  const pool = progressionsFor(mood, mode === 'minor');
  const index = rng.int(0, pool.length - 1);
  const base = pool[index] as number[];
  const main: Chord[] = base.map((root) => ({ root }));
  if (rng.chance(0.45)) {
    const options = main.flatMap((c, i) => {
      const b = i > 0 ? borrowing(mode, c.root, i === main.length - 1) : undefined;
      return b ? [[i, b] as const] : [];
    });
    if (options.length) {
      const [at, chord] = rng.pick(options);
      main[at] = chord;
    }
  }
  // The break: the progression from its third chord when that is not the tonic, else the next in the pool.
  const third = base[2] as number;
  const contrast = third !== TONIC ? [...base.slice(2), ...base.slice(0, 2)] : (pool[(index + 1) % pool.length] as number[]);
  return { main, contrast: contrast.map((root) => ({ root })) };
}

/**
 * The chord of every bar, each chord of the plan held `barsPerChord` bars.
 * - Each section starts its progression from its first chord, so every section opens on it.
 * - The intro states the tonic and turns on the dominant into the first main bar (a one-bar intro
 *   is the tonic alone); the outro rests on the tonic.
 * - The break plays the contrasting progression and ends on the dominant, into the main section.
 * - In minor, a pass of the main progression that ends on neither i nor V ends on V instead: major
 *   there (harmonic minor, its third the raised leading tone, theory.ts `degreeOverChord`), leading
 *   back to i. Without it, i–VI–III–VII and its kin read as the relative major.
 */
export function chordsOfBars(plan: HarmonyPlan, sections: readonly Section[], barsPerChord: number, key: MusicalKey): Chord[] {
  const at = (progression: Chord[], bar: number) => progression[Math.floor(bar / barsPerChord) % progression.length] as Chord;
  const pass = plan.main.length * barsPerChord;
  const last = plan.main[plan.main.length - 1] as Chord;
  const halfCadence = key.mode === 'minor' && (last.borrowed || (last.root !== TONIC && last.root !== DOMINANT));
  const tonic = (): Chord => ({ root: TONIC });
  const dominant = (): Chord => ({ root: DOMINANT });
  return sections.flatMap((section) =>
    Array.from({ length: section.bars }, (_, bar): Chord => {
      const lastBar = bar === section.bars - 1;
      if (section.name === 'intro') return lastBar && bar > 0 ? dominant() : tonic();
      if (section.name === 'outro') return tonic();
      if (section.name === 'break') return lastBar && bar > 0 ? dominant() : { ...at(plan.contrast, bar) };
      if (halfCadence && bar % pass >= pass - barsPerChord) return dominant();
      return { ...at(plan.main, bar) };
    }),
  );
}

/** The key a borrowed chord's notes come from: the same tonic in the other mode. */
function parallel(key: MusicalKey): MusicalKey {
  return { ...key, mode: key.mode === 'major' ? 'minor' : 'major' };
}

/**
 * MIDI note of scale degree `degree` heard over `chord`: the key's (the raised leading tone over V in
 * minor), or the parallel mode's over a borrowed chord.
 */
export function pitchOver(key: MusicalKey, chord: Chord, degree: number, octave: number): number {
  return degreeOverChord(chord.borrowed ? parallel(key) : key, chord.root, degree, octave);
}

/** Lowest and highest note a voiced chord may use: around G3..G5. */
const VOICING_LOW = 50;
const VOICING_HIGH = 79;

/**
 * The chord's pitches (triad or seventh), voiced as close as can be to `previous`: every inversion and
 * octave within the range is tried and the one whose notes move least wins (voice leading). Without a
 * previous chord, root position around G3..G4.
 */
export function voiceChord(key: MusicalKey, chord: Chord, size: 3 | 4, previous: readonly number[] | undefined): number[] {
  const octave = pitchOver(key, chord, chord.root, 3) < 52 ? 4 : 3;
  const rootPosition = chordDegrees(chord.root, size).map((d) => pitchOver(key, chord, d, octave));
  if (!previous?.length) return rootPosition;
  let best = rootPosition;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let inversion = 0; inversion < size; inversion++) {
    // Inversion k: the lowest k notes an octave up.
    const inverted = rootPosition.map((p, i) => (i < inversion ? p + 12 : p)).sort((a, b) => a - b);
    for (const shift of [-24, -12, 0, 12]) {
      const candidate = inverted.map((p) => p + shift);
      if ((candidate[0] as number) < VOICING_LOW || (candidate[size - 1] as number) > VOICING_HIGH) continue;
      const cost = candidate.reduce((sum, p) => sum + Math.min(...previous.map((q) => Math.abs(p - q))), 0);
      if (cost < bestCost) {
        bestCost = cost;
        best = candidate;
      }
    }
  }
  return best;
}
