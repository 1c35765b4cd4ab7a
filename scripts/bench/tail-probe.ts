/** Diagnostic: generateBeat at 100/s against an api started with extra node flags; prints latency tail. */
import { randomBytes } from 'node:crypto';
import { startBenchApi, summarize } from './lib.js';

const run = randomBytes(4).toString('hex');
const api = await startBenchApi({}, (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean));
const post = api.gql;
const token = (
  await post('mutation($e: String!) { signUp(email: $e, password: "benchmark pw") { token } }', { e: `p-${run}@x.io` })
).data.signUp?.token as string;
for (let round = 0; round < 3; round++) {
  api.takeOutput();
  const lat: number[] = [];
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 500; i++) {
    const w = start + i * 10 - performance.now();
    if (w > 0) await new Promise((r) => setTimeout(r, w));
    const t0 = performance.now();
    pending.push(
      post(
        'mutation($i: GenerateBeatInput!) { generateBeat(input: $i) { id } }',
        { i: { genre: 'lofi', bpm: 90, key: 'Am', durationSec: 5 } },
        token,
      ).then(() => void lat.push(performance.now() - t0)),
    );
  }
  await Promise.all(pending);
  const s = summarize(lat);
  const pauses = [...api.takeOutput().matchAll(/(Scavenge|Mark-Compact)[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g)].map(
    (m) => [m[1], Number(m[2])] as const,
  );
  const long = pauses.filter(([, ms]) => ms > 10);
  console.log(
    `round ${round}: p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)}; GC events ${pauses.length}, >10 ms: ${long.map(([k, ms]) => `${k} ${ms}`).join(', ') || 'none'}`,
  );
}
await api.stop();
process.exit(0);
