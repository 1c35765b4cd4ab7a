/**
 * src/malloc-trim.ts on this process: memory freed in the middle of glibc's heaps (short-lived 64 KiB
 * blocks between small ones that stay, as in a connection storm) stays resident until malloc_trim
 * gives it back.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { mallocTrim } from '../../src/malloc-trim.js';

const MiB = 1024 * 1024;
const rss = () => process.memoryUsage.rss();
const glibc =
  process.platform === 'linux' &&
  !!(process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;

it.runIf(glibc)('gives back what a storm of freed blocks left resident', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let passing: Buffer[] | null = [];
  const staying: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    passing.push(Buffer.allocUnsafeSlow(60 * 1024).fill(1));
    staying.push(Buffer.allocUnsafeSlow(5000).fill(2));
  }
  passing = null;
  gc();
  gc();
  await new Promise((r) => setTimeout(r, 200)); // the backing stores are freed after the collection
  const before = rss();
  expect(mallocTrim()).toBe(true);
  // 3,000 × 60 KiB (176 MiB) were freed between blocks still in use: most of it goes back.
  expect(before - rss()).toBeGreaterThan(100 * MiB);
  expect(staying.length).toBe(3000);
});

it.runIf(!glibc)('is unavailable without glibc, and does nothing', () => {
  expect(mallocTrim()).toBeNull();
});
