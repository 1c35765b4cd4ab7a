/**
 * The Krumhansl–Schmuckler key-finding algorithm, written from the papers and independent of the
 * engine (it imports nothing from it): a duration-weighted pitch-class profile of the notes,
 * correlated (Pearson) with the Krumhansl–Kessler probe-tone profiles rotated to each of the 12
 * tonics, major and minor; the best of the 24 is the key.
 *
 * Krumhansl & Kessler (1982), "Tracing the dynamic changes in perceived tonal organization";
 * Krumhansl (1990), "Cognitive Foundations of Musical Pitch", ch. 4.
 */

/** Ratings of the 12 pitch classes above a major tonic (C major: C, C#, D, …, B). */
export const KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
/** Ratings of the 12 pitch classes above a minor tonic (C minor). */
export const KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

export interface TimedPitch {
  midi: number;
  /** Any unit, the same for every note (beats here). */
  duration: number;
}

export interface EstimatedKey {
  pitchClass: number;
  mode: 'major' | 'minor';
  /** Pearson correlation of the winner. */
  r: number;
  /** Its margin over the runner-up. */
  margin: number;
}

/** Total duration per pitch class (0 = C). */
export function pitchClassProfile(notes: readonly TimedPitch[]): number[] {
  const profile = new Array<number>(12).fill(0);
  for (const n of notes) {
    const pc = ((Math.round(n.midi) % 12) + 12) % 12;
    profile[pc] = (profile[pc] as number) + n.duration;
  }
  return profile;
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** The key whose rotated profile correlates best with the notes' duration-weighted profile. */
export function estimateKey(notes: readonly TimedPitch[]): EstimatedKey {
  const profile = pitchClassProfile(notes);
  const scores: { pitchClass: number; mode: 'major' | 'minor'; r: number }[] = [];
  for (const [mode, ratings] of [
    ['major', KK_MAJOR],
    ['minor', KK_MINOR],
  ] as const) {
    for (let tonic = 0; tonic < 12; tonic++) {
      // The rating of pitch class pc in the key on `tonic` is the tonic-relative rating of pc − tonic.
      const rotated = Array.from({ length: 12 }, (_, pc) => ratings[(pc - tonic + 12) % 12] as number);
      scores.push({ pitchClass: tonic, mode, r: pearson(profile, rotated) });
    }
  }
  scores.sort((a, b) => b.r - a.r);
  const [best, second] = scores as [(typeof scores)[number], (typeof scores)[number]];
  return { ...best, margin: best.r - second.r };
}
