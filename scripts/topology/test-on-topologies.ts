/**
 * `npm run test:redis-topologies`: the test files that exercise Redis's roles (BullMQ, pub/sub,
 * subscriptions, chat streams and their Lua scripts, token revocation, project events) run again,
 * once on a Redis Cluster and once on Redis Sentinel, each started here from Debian's redis-server
 * (scripts/topology/redis-cluster.ts, redis-sentinel.ts) and stopped afterwards. The tests read the
 * topology from TEST_REDIS_MODE and its node list (test/helpers/harness.ts). .ci/run runs it after
 * `npm test`. Exit code: the first failing run's.
 */
import { spawn } from 'node:child_process';
import { startClusterTopology } from './redis-cluster.js';
import { startSentinelTopology } from './redis-sentinel.js';

/** Files that reach Redis only through the app or the test topology (none opens its own connection to 127.0.0.1:6379). */
export const REDIS_ROLE_TESTS = [
  'test/integration/chat.test.ts',
  'test/integration/subscriptions.test.ts',
  'test/integration/two-tabs.test.ts',
  'test/integration/accounts.test.ts',
  'test/integration/token-revocations.test.ts',
  'test/integration/generation.test.ts',
  'test/integration/queue-fairness.test.ts',
  'test/integration/project-events.test.ts',
  'test/integration/collaboration.test.ts',
];

function vitest(env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', ...REDIS_ROLE_TESTS], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** TEST_-prefixed: the topology for the tests' apps and workers, not for this process. */
const forTests = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [`TEST_${k}`, v]));

let failed = 0;
for (const [name, start] of [
  ['Redis Cluster', () => startClusterTopology(7100)],
  ['Redis Sentinel', () => startSentinelTopology(6390)],
] as const) {
  console.log(`\n== ${REDIS_ROLE_TESTS.length} Redis-role test files on ${name}`);
  const topology = await start();
  try {
    const code = await vitest(forTests(topology.env));
    if (code && !failed) failed = code;
  } finally {
    await topology.stop();
  }
}
process.exit(failed);
