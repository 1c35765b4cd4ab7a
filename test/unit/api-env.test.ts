/**
 * The api's node options (scripts/lib/api-env.mjs) do on this Node what they are there for: V8 keeps
 * its young generation through a collection taken while little is allocated, which otherwise
 * shrinks it to its floor (1 MiB on 64-bit) before the next burst.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { API_NODE_ARGS } from '../../scripts/lib/api-env.mjs';

const run = promisify(execFile);

// Allocates a burst, then stays quiet past V8's 5 s allocation-throughput window, then collects once
// (as the idle heap trim does) and prints the young generation's size in MiB before and after.
const PROBE = `
const v8 = require('node:v8');
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
const before = young();
const tick = setInterval(() => {}, 100);
setTimeout(() => { gc(); clearInterval(tick); console.log(JSON.stringify({ before, after: young() })); }, 6000);
`;

async function youngGeneration(nodeArgs: string[]): Promise<{ before: number; after: number }> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '--expose-gc', '-e', PROBE]);
  return JSON.parse(stdout);
}

describe('API_NODE_ARGS', () => {
  it("keep V8's young generation at 16 MiB through a collection after a quiet spell; without them it shrinks", async () => {
    const [kept, plain] = await Promise.all([youngGeneration(API_NODE_ARGS), youngGeneration([])]);
    expect(plain.before).toBeGreaterThanOrEqual(16);
    expect(plain.after).toBeLessThan(4);
    expect(kept.before).toBeGreaterThanOrEqual(16);
    expect(kept.after).toBeGreaterThanOrEqual(16);
  }, 30_000);
});
