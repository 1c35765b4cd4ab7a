/**
 * Flood (issue 10, "Tests that must exist"): one user at 10x the request limit gets RATE_LIMITED,
 * and a second user's p99 stays within 2x their quiet p99. The api runs as its own process; the
 * flooding client runs in a worker thread, so its own work does not delay the measuring client in
 * this thread: what is measured is the api's cost of the flood.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gql, signUp, type TestUser, until } from '../helpers/harness.js';
import { type ApiProcess, spawnApi } from '../helpers/process.js';
import { isolatedPrefix } from '../helpers/ws.js';

const LIMIT = 300;
const QUERY = '{ conversations(first: 5) { edges { node { id } } } }';
/** Quiet users taking turns, so the measuring side stays within each one's own limit. */
const QUIET_USERS = 2;
const ROUNDS = 20;
/** Round trips per window, quiet and flooded: 240 each side in all. */
const PER_WINDOW = 12;

let api: ApiProcess;
beforeAll(async () => {
  api = await spawnApi({ REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_PER_MINUTE: String(LIMIT) });
}, 60_000);
afterAll(() => api?.kill());

const p99 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.ceil(xs.length * 0.99) - 1] as number;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The p99 of a few hundred round trips on two shared cores moves with whatever else the machine
// does; a failed attempt is measured again (fresh users, fresh limits), twice at most.
it("a user at 10x the limit gets RATE_LIMITED while another user's p99 stays within 2x quiet", {
  retry: 2,
  timeout: 90_000,
}, async () => {
  const [flooder, ...quiet] = await Promise.all(Array.from({ length: 1 + QUIET_USERS }, () => signUp(api.graphqlUrl)));
  let turn = 0;
  const timed = async () => {
    const user = quiet[turn++ % QUIET_USERS] as TestUser;
    const started = performance.now();
    const res = await gql(api.graphqlUrl, QUERY, {}, user.token);
    expect(res.errors).toBeUndefined();
    return performance.now() - started;
  };

  // One request per 20 ms: 50 requests/s, 10x the limit of 300 per minute.
  // state[0]: 0 pause, 1 flood, 2 stop; state[1]: sent; state[2]: RATE_LIMITED answers.
  const state = new Int32Array(new SharedArrayBuffer(12));
  const flood = new Worker(
    `const { workerData: { url, token, state } } = require('node:worker_threads');
    const body = JSON.stringify({ query: ${JSON.stringify(QUERY)} });
    (async () => {
      while (Atomics.load(state, 0) !== 2) {
        if (Atomics.load(state, 0) === 0) { await new Promise((r) => setTimeout(r, 5)); continue; }
        Atomics.add(state, 1, 1);
        const started = Date.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body });
        if ((await res.text()).includes('RATE_LIMITED')) Atomics.add(state, 2, 1);
        await new Promise((r) => setTimeout(r, Math.max(0, 20 - (Date.now() - started))));
      }
    })().then(() => process.exit(0));`,
    { eval: true, workerData: { url: api.graphqlUrl, token: (flooder as TestUser).token, state } },
  );
  const exited = new Promise((resolve) => flood.once('exit', resolve));
  try {
    // First the flooder uses up its minute and is refused from then on.
    Atomics.store(state, 0, 1);
    await until(() => Atomics.load(state, 2) > 0, 30_000);
    for (let i = 0; i < 5; i++) await timed(); // warm-up
    // Quiet and flooded windows alternate, so noise from other work on the machine lands in both.
    const calm: number[] = [];
    const busy: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      Atomics.store(state, 0, 0);
      await pause(30);
      for (let i = 0; i < PER_WINDOW; i++) calm.push(await timed());
      Atomics.store(state, 0, 1);
      await pause(30);
      for (let i = 0; i < PER_WINDOW; i++) busy.push(await timed());
    }
    Atomics.store(state, 0, 2);
    await exited;

    const sent = Atomics.load(state, 1);
    // All but the flooder's first 300 of the minute are refused.
    expect(sent).toBeGreaterThan(LIMIT);
    expect(Atomics.load(state, 2)).toBeGreaterThanOrEqual(sent - LIMIT);
    console.info(
      `flood: ${sent} sent, ${Atomics.load(state, 2)} RATE_LIMITED; other user's p99: quiet ${p99(calm).toFixed(1)} ms, flooded ${p99(busy).toFixed(1)} ms (x${(p99(busy) / p99(calm)).toFixed(2)})`,
    );
    expect(p99(busy)).toBeLessThanOrEqual(2 * p99(calm));
  } finally {
    Atomics.store(state, 0, 2);
    await flood.terminate();
  }
});
