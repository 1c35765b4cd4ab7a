/**
 * The api's node options (scripts/lib/api-env.mjs) do on this Node what they are there for: V8's
 * young generation starts at 16 MiB instead of 1 and keeps that floor through a collection taken
 * while little is allocated. Without them such a collection usually shrinks it back to 1 MiB (V8
 * decides that from its allocation rate, so that half is not asserted). Each option is one this Node
 * accepts (--no-allocation-site-pretenuring's effect is measured in docs/benchmarks.md, not here).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { API_NODE_ARGS } from '../../scripts/lib/api-env.mjs';

const run = promisify(execFile);

// Reads the young generation's size in MiB at start, allocates a burst, stays quiet past V8's 5 s
// allocation-throughput window, then collects once (as the idle heap trim does) and reads it again.
const PROBE = `
const v8 = require('node:v8');
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
const start = young();
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
const tick = setInterval(() => {}, 100);
setTimeout(() => { gc(); clearInterval(tick); console.log(JSON.stringify({ start, after: young() })); }, 6000);
`;

async function youngGeneration(nodeArgs: string[]): Promise<{ start: number; after: number }> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '--expose-gc', '-e', PROBE]);
  return JSON.parse(stdout);
}

describe('API_NODE_ARGS', () => {
  it("start V8's young generation at 16 MiB and keep it there through a collection after a quiet spell", async () => {
    const [kept, plain] = await Promise.all([youngGeneration(API_NODE_ARGS), youngGeneration([])]);
    expect(plain.start).toBeLessThan(4);
    expect(kept.start).toBeGreaterThanOrEqual(16);
    expect(kept.after).toBeGreaterThanOrEqual(16);
  }, 30_000);

  it('are each accepted by this Node (an unknown V8 option stops node at start)', async () => {
    for (const arg of API_NODE_ARGS) {
      const { stdout } = await run(process.execPath, [arg, '-e', 'console.log("started")']);
      expect(stdout.trim(), arg).toBe('started');
    }
    await expect(run(process.execPath, ['--no-such-v8-option-here', '-e', '0'])).rejects.toThrow(/bad option/);
  });

  it('are on the command line of `npm run api` too (tsx hands them to node)', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(scripts.api).toBe(['tsx', ...API_NODE_ARGS, 'src/main.ts'].join(' '));
  });
});
