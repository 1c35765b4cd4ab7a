import { Rng } from '../../../worker/engine/rng.js';

/** The engine's seeded PRNG (mulberry32), so one FUZZ_SEED always yields the same requests. */
export class Random extends Rng {
  constructor(readonly seed: number) {
    super(seed);
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  /** A version-4-shaped uuid from this generator (no row has it). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  /** `length` code points drawn from `alphabet`. */
  text(length: number, alphabet: readonly string[]): string {
    return Array.from({ length }, () => this.pick(alphabet)).join('');
  }
}

/** FUZZ_SEED when set (to replay a run), else a fresh one. */
export function fuzzSeed(env: string | undefined = process.env.FUZZ_SEED): number {
  if (env && /^\d+$/.test(env)) return Number(env) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
