/** An api and a worker sharing a per-file Redis prefix and storage directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createGenerationQueue } from '../../src/jobs/generation-job.js';
import { createRedis, redisTarget } from '../../src/redis.js';
import { type Handlers, defaultHandlers } from '../../worker/processor.js';
import { buildWorker } from '../../worker/worker.js';
import { createOwnDatabase } from './database.js';
import { freePort, type GqlResponse, gql, type RunningApp, startApp, testConfig } from './harness.js';

export interface Stack {
  api: RunningApp;
  worker: ReturnType<typeof buildWorker>;
  env: Record<string, string>;
  storageDir: string;
  stop(): Promise<void>;
}

/**
 * An api and a worker on their own Redis prefix and storage directory. `worker: false` starts no
 * worker, for a test that runs its own (a worker stopped after starting can still take a job queued
 * while its blocking fetch winds down). Each stack has a database of its own (cloned from the run's
 * template, dropped at stop): its worker's reconciler then cannot pick up other test files' PENDING
 * generations, which it would render on its own prefix and storage. `ownDatabase: false` shares the
 * run's database instead.
 */
export async function startStack(
  overrides: Record<string, string> = {},
  handlers: Partial<Handlers> = {},
  options: { worker?: boolean; ownDatabase?: boolean } = {},
): Promise<Stack> {
  const storageDir = await mkdtemp(join(tmpdir(), 'dawg-storage-'));
  const port = await freePort();
  const own = options.ownDatabase === false ? null : await createOwnDatabase();
  const database = own?.url;
  const env = {
    ...(database ? { DATABASE_URL: database } : {}),
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STORAGE_DIR: storageDir,
    REDIS_PREFIX: `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`,
    WORKER_CONCURRENCY: '2',
    ...overrides,
  };
  const api = await startApp(env);
  const worker = buildWorker(testConfig(env), { handlers: { ...defaultHandlers, ...handlers } });
  if (options.worker !== false) await worker.start();
  return {
    api,
    worker,
    env,
    storageDir,
    stop: async () => {
      await worker.stop();
      await api.stop();
      await rm(storageDir, { recursive: true, force: true });
      await own?.drop();
    },
  };
}

/** A queue handle on the stack's prefix, for tests that enqueue by hand. */
export function queueFor(stack: Stack) {
  const connection = createRedis(redisTarget(testConfig(stack.env)), stack.api.app.log, 'test-queue');
  const queue = createGenerationQueue(connection, stack.env.REDIS_PREFIX as string);
  queue.on('error', () => {});
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

const STATUS =
  'query($id: ID!) { generation(id: $id) { status progress stage error attempts output { audioUrl wavUrl midiUrl durationSec loudnessLufs truePeakDb stems { name url } } } }';

export interface GenerationState {
  status: string;
  progress: number;
  stage: string | null;
  error: string | null;
  attempts: number;
  output: {
    audioUrl: string;
    wavUrl: string;
    midiUrl: string | null;
    durationSec: number;
    loudnessLufs: number;
    truePeakDb: number;
    stems: { name: string; url: string }[];
  } | null;
}

/** Polls a generation until `done(state)` (default: a terminal status). */
export async function waitFor(
  api: Pick<RunningApp, 'graphqlUrl'>,
  token: string,
  id: string,
  done: (s: GenerationState) => boolean = (s) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status),
  timeoutMs = 60_000,
): Promise<GenerationState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A poll is a read: one the connection dropped (a keep-alive socket the api closed while its event
    // loop was busy rendering, in-process) is asked again, as a client would.
    const res = await gql(api.graphqlUrl, STATUS, { id }, token).catch(
      (err: Error) => ({ errors: [{ message: err.message }] }) as GqlResponse,
    );
    const state = res.data?.generation as GenerationState | undefined;
    if (state && done(state)) return state;
    if (Date.now() > deadline) throw new Error(`generation ${id} still ${JSON.stringify(state ?? res.errors)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const GENERATE_BEAT = 'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }';

/** Starts a beat (a 5 s lofi one unless `input` says otherwise) and waits until it ends; its final state. */
export async function beatDone(
  api: Pick<RunningApp, 'graphqlUrl'>,
  token: string,
  input: Record<string, unknown> = {},
): Promise<GenerationState & { id: string }> {
  const res = await gql(
    api.graphqlUrl,
    GENERATE_BEAT,
    { input: { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 5, ...input } },
    token,
  );
  if (res.errors) throw new Error(`generateBeat: ${JSON.stringify(res.errors)}`);
  const id = res.data.generateBeat.id as string;
  return { ...(await waitFor(api, token, id)), id };
}
