import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Rounds } from '../../src/transport/rounds.js';

describe('Rounds: periodic work spread across its period', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('visits every member once per period, a slice of them every SLICE_MS', () => {
    const visits: number[][] = [];
    const rounds = new Rounds<number>(1000, (members) => void visits.push([...members]));
    for (let i = 0; i < 100; i++) rounds.add(i);

    vi.advanceTimersByTime(100);
    // One slice of ten: not the hundred at once.
    expect(visits).toEqual([[0, 10, 20, 30, 40, 50, 60, 70, 80, 90]]);

    vi.advanceTimersByTime(900);
    expect(visits).toHaveLength(10);
    const seen = visits.flat();
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);

    // The next period visits each again, in the same slices, one period after the last visit.
    vi.advanceTimersByTime(1000);
    expect(visits).toHaveLength(20);
    expect(visits.slice(10)).toEqual(visits.slice(0, 10));
    rounds.stop();
  });

  it('a period shorter than a slice is one slice: everyone each period, as a plain interval', () => {
    const visits: number[][] = [];
    const rounds = new Rounds<number>(50, (members) => void visits.push([...members]));
    rounds.add(1);
    rounds.add(2);
    vi.advanceTimersByTime(50);
    expect(visits).toEqual([[1, 2]]);
    rounds.stop();
  });

  it('a member that left is not visited; one that joins is, within a period', () => {
    const seen: string[] = [];
    const rounds = new Rounds<string>(400, (members) => void seen.push(...members));
    rounds.add('a');
    rounds.add('b');
    rounds.delete('a');
    vi.advanceTimersByTime(400);
    expect(seen).toEqual(['b']);
    rounds.add('c');
    // Adding twice keeps one membership.
    rounds.add('c');
    vi.advanceTimersByTime(400);
    expect(seen.filter((m) => m === 'c')).toEqual(['c']);
    rounds.stop();
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(['b', 'b', 'c']);
  });

  it('does not visit a slice again while its last visit is pending; other slices go on', async () => {
    let release = () => {};
    const calls: number[][] = [];
    const rounds = new Rounds<number>(200, (members) => {
      calls.push([...members]);
      if (members.has(0)) return new Promise<void>((resolve) => (release = resolve));
      return undefined;
    });
    rounds.add(0);
    rounds.add(1);
    // Period 200 ms: two slices, {0} and {1}.
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toEqual([[0], [1], [1]]);
    release();
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([[0], [1], [1], [0], [1]]);
    rounds.stop();
  });
});
