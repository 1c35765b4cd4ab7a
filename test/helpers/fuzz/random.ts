/** A seeded PRNG (mulberry32), so one FUZZ_SEED always yields the same requests. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(): boolean {
    return this.next() < 0.5;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
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
