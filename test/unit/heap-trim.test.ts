/**
 * src/heap-trim.ts on this process's own heap: a burst that leaves survivors on every page (as a
 * connection storm does) is given back once the loop is quiet, not while it is busy, and only once
 * until the heap grows again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { API_NODE_ARGS } from '../../scripts/lib/api-env.mjs';
import { heapTrimCounts, startHeapTrim } from '../../src/heap-trim.js';
import type { Logger } from '../../src/logger.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logged: object[] = [];
const log = { info: (fields: object) => logged.push(fields) } as unknown as Logger;

/** About 150 MiB allocated over many turns; one object in eight survives, spread over every page. */
async function storm(): Promise<object[]> {
  const kept: object[] = [];
  let recent: object[] = [];
  for (let round = 0; round < 120; round++) {
    for (let i = 0; i < 10_000; i++) {
      const o = { i, s: `x${i}-${round}`, a: new Array(20).fill(i) };
      recent.push(o);
      if (i % 8 === 0) kept.push({ i, s: `k${i}`, a: [i, round] });
    }
    // Held for a few turns, so they survive the young generation and die in old space.
    if (recent.length > 100_000) recent = recent.slice(50_000);
    await new Promise((r) => setImmediate(r));
  }
  return kept;
}

/** Keeps the loop busy (well over 10 %) for `ms`. */
async function busyFor(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const spin = performance.now() + 5;
    while (performance.now() < spin) {}
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Runs `probe` (an ES module's source) in a process of its own, with the api's node options (as the api
 * runs the trim) and `nodeArgs`; returns what it printed.
 */
async function runProbe(probe: string, nodeArgs: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...API_NODE_ARGS, ...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', probe],
    { cwd: new URL('../..', import.meta.url), maxBuffer: 16 * MiB },
  );
  return stdout;
}

let stop = () => {};
afterEach(() => stop());

describe('heap trim', () => {
  it('gives back a burst once quiet, not while busy, and not again until the heap grows', async () => {
    stop = startHeapTrim({ idleMs: 300, minGrowthBytes: 16 * MiB, log, tickMs: 50 });
    const kept = await storm();
    const grown = getHeapStatistics().total_heap_size;
    const before = heapTrimCounts().trims;

    await busyFor(1000);
    expect(heapTrimCounts().trims).toBe(before);

    const deadline = Date.now() + 10_000;
    while (heapTrimCounts().trims === before && Date.now() < deadline) await sleep(50);
    expect(heapTrimCounts().trims).toBe(before + 1);
    const after = getHeapStatistics().total_heap_size;
    // Compacted: here 180 -> 61 MiB with 29 live. A plain full collection left 133 MiB (pages each
    // holding a few survivors stay).
    expect(after).toBeLessThan(grown / 2);
    expect(heapTrimCounts().freedBytes).toBeGreaterThan(32 * MiB);
    expect(logged.at(-1)).toMatchObject({ heapBeforeMiB: expect.any(Number), heapAfterMiB: expect.any(Number) });

    // Quiet again, and the heap has not grown: no second trim.
    await sleep(1500);
    expect(heapTrimCounts().trims).toBe(before + 1);
    expect(kept.length).toBe(150_000);
  }, 30_000);

  it('does not pause a process that has just turned busy after a long quiet spell, then trims once it is quiet again', async () => {
    stop = startHeapTrim({ idleMs: 2000, minGrowthBytes: 16 * MiB, log, tickMs: 50 });
    await sleep(2200);
    const before = heapTrimCounts().trims;
    // The heap grows by well over 16 MiB in a moment, and the loop stays busy: averaged over the whole
    // 2 s window it is still under 10 % for the first few hundred milliseconds, but it is busy now.
    const kept = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `k${i}`, a: [i, i + 1] }));
    await busyFor(1500);
    expect(heapTrimCounts().trims).toBe(before);

    const deadline = Date.now() + 10_000;
    while (heapTrimCounts().trims === before && Date.now() < deadline) await sleep(50);
    expect(heapTrimCounts().trims).toBe(before + 1);
    expect(kept.length).toBe(400_000);
  }, 30_000);

  it("gives the emptied pages back to the system, on this process's Node", async () => {
    // In a process of its own, so the RSS read is the heap's: a heap of about 780 MiB with one object in four
    // surviving on every page, then one compacting collection and 2 s for unmapping. On Node 22 and 24
    // a compacting gc() without the last resort left RSS above where it started (626 and 776 MiB).
    // Every object is kept until all are in old space, interleaved, then three in four are dropped:
    // the pages stay fragmented whether V8 allocates them there at once (pretenuring) or promotes them.
    const probe = `
      import { compactingGc } from ${JSON.stringify(new URL('../../src/heap-trim.ts', import.meta.url).href)};
      const kept = [];
      let junk = [];
      for (let i = 0; i < 2e6; i++) {
        const o = { i, s: 'x' + i, a: [i, i + 1], m: new Map() };
        if (i % 4 === 0) kept.push(o); else junk.push(o);
      }
      junk = null;
      const before = process.memoryUsage.rss();
      compactingGc();
      setTimeout(() => console.log(JSON.stringify({ before, after: process.memoryUsage.rss(), kept: kept.length })), 2000);
    `;
    const stdout = await runProbe(probe);
    const { before, after, kept } = JSON.parse(stdout) as { before: number; after: number; kept: number };
    expect(kept).toBe(500_000);
    // Here 779 -> 279 MiB on Node 20 with the api's options, with pretenuring on or off (a junk array
    // emptied every 200,000 objects gave 482 -> 250, but only while V8 pretenured them: 386 -> 274 without).
    expect(after / before, `${Math.round(before / MiB)} -> ${Math.round(after / MiB)} MiB`).toBeLessThan(0.65);
  }, 30_000);

  it("leaves the old generation's next limit at twice the live heap, on this process's Node", async () => {
    // After 6 s of quiet (longer than the 5 s over which V8 measures how fast the program allocates),
    // once a full collection has timed V8's collector (the first trim here), V8's own growing factor is
    // its floor, 1.1: the first seconds of load after a trim then ran full collections an untrimmed
    // process did not. V8 prints each limit it sets under --trace-gc-verbose (the factor times the live
    // heap, at least 8 MiB over it, plus the young generation); the last one printed is the second
    // trim's last collection's.
    const probe = `
      import { compactingGc } from ${JSON.stringify(new URL('../../src/heap-trim.ts', import.meta.url).href)};
      const kept = Array.from({ length: 400_000 }, (_, i) => ({ i, s: 'k' + i, a: [i, i + 1] }));
      compactingGc();
      // kept is read after the second trim, so it is live through both.
      setTimeout(() => { compactingGc(); kept.length = 0; }, 6000);
    `;
    const stdout = await runProbe(probe, ['--trace-gc-verbose']);
    const limits = [...stdout.matchAll(/\[HeapController\] Limit: old size: (\d+) KB, new limit: (\d+) KB/g)];
    expect(limits.length, 'V8 printed no limit under --trace-gc-verbose').toBeGreaterThan(0);
    const [, oldKb, limitKb] = limits.at(-1) ?? [];
    // Without TRIM_GROWING_PERCENT: 61,770 -> 86,070 KB on Node 20, 62,814 -> 87,390 on 22 and
    // 63,210 -> 87,786 on 24 (1.39 times); with it, over twice.
    expect(Number(limitKb) / Number(oldKb), `${oldKb} -> ${limitKb} KB`).toBeGreaterThanOrEqual(1.9);
  }, 30_000);

  it('does nothing with HEAP_TRIM_IDLE_MS=0', async () => {
    const before = heapTrimCounts().trims;
    stop = startHeapTrim({ idleMs: 0, minGrowthBytes: 0, log, tickMs: 10 });
    await sleep(300);
    expect(heapTrimCounts().trims).toBe(before);
  });
});
