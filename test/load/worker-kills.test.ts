/**
 * Faults that heal, with counts (issue 13): 200 beats while the worker process is SIGKILLed five
 * times and started again. Every generation ends COMPLETED (or FAILED with a reason): 0 stuck, 0
 * lost, and 0 rendered to completion twice (a job whose row is already COMPLETED is skipped).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gql, rawId, signUp, type TestUser } from '../helpers/harness.js';
import { type ApiProcess, spawnWorker } from '../helpers/process.js';
import { type Stack, startStack } from '../helpers/stack.js';

const BEATS = 200;
const KILLS = 5;

let stack: Stack;
let user: TestUser;
beforeAll(async () => {
  // Only the worker processes below take jobs; a short lock so a killed worker's jobs move on soon.
  stack = await startStack({ WORKER_LOCK_MS: '2000', GENERATION_MAX_PENDING: String(BEATS) }, {}, { worker: false });
  user = await signUp(stack.api.graphqlUrl);
}, 60_000);
afterAll(() => stack?.stop());

it(`${BEATS} beats while the worker is SIGKILLed ${KILLS} times: 0 stuck, 0 lost, 0 made twice`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < BEATS; i++) {
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($i: Int!) { generateBeat(input: { genre: "lofi", bpm: 90, key: "Am", durationSec: 5, seed: $i }) { id } }',
      { i },
      user.token,
    );
    expect(res.errors).toBeUndefined();
    ids.push(rawId(res.data.generateBeat.id));
  }
  const outputs: string[] = [];
  let worker: ApiProcess = await spawnWorker({ ...stack.env, LOG_LEVEL: 'info' });
  const prisma = stack.api.app.prisma;
  const completed = () => prisma.generation.count({ where: { id: { in: ids }, status: 'COMPLETED' } });
  for (let k = 0; k < KILLS; k++) {
    // Kill it while it works: once it has finished some more beats.
    const target = Math.min(BEATS - 10, (await completed()) + 15);
    for (let i = 0; i < 300 && (await completed()) < target; i++) await new Promise((r) => setTimeout(r, 100));
    outputs.push(worker.output());
    expect(await worker.kill('SIGKILL')).toBeNull();
    worker = await spawnWorker({ ...stack.env, LOG_LEVEL: 'info' });
  }
  try {
    const deadline = Date.now() + 150_000;
    let open = BEATS;
    while (Date.now() < deadline) {
      open = await prisma.generation.count({ where: { id: { in: ids }, status: { in: ['PENDING', 'PROCESSING'] } } });
      if (!open) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    outputs.push(worker.output());
    const rows = await prisma.generation.findMany({
      where: { id: { in: ids } },
      select: { id: true, status: true, error: true },
    });
    const stuck = rows.filter((r) => r.status === 'PENDING' || r.status === 'PROCESSING').length;
    const failedWithoutReason = rows.filter((r) => r.status === 'FAILED' && !r.error).length;
    const lost = BEATS - rows.length;
    // "generation finished" with outcome completed, per generation, over every worker process's log.
    const finished = new Map<string, number>();
    for (const line of outputs.join('\n').split('\n')) {
      const m = /"generationId":"([0-9a-f-]{36})".*"outcome":"completed".*generation finished/.exec(line);
      if (m) finished.set(m[1] as string, (finished.get(m[1] as string) ?? 0) + 1);
    }
    const twice = [...finished.values()].filter((n) => n > 1).length;
    console.log(
      `worker kills: ${KILLS}; COMPLETED ${rows.filter((r) => r.status === 'COMPLETED').length}, FAILED ${rows.filter((r) => r.status === 'FAILED').length}, stuck ${stuck}, lost ${lost}, made twice ${twice}`,
    );
    expect({ stuck, lost, failedWithoutReason, twice }).toEqual({ stuck: 0, lost: 0, failedWithoutReason: 0, twice: 0 });
    expect(rows.filter((r) => r.status === 'COMPLETED').length).toBeGreaterThanOrEqual(BEATS - 5);
  } finally {
    await worker.kill();
  }
}, 300_000);
