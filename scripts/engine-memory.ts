/**
 * Peak memory of one generation job, measured in-process through the real
 * worker handlers (compose, render, master, encode, store) with an in-memory
 * store and rows in place of PostgreSQL:
 *
 *   npx tsx scripts/engine-memory.ts beat [durationSec=300]
 *   npx tsx scripts/engine-memory.ts stems|master [durationSec=300]
 *   npx tsx scripts/engine-memory.ts mix [durationSec=300] [tracks=4]
 *
 * Beats are trap's (140 bpm, dark) unless ENGINE_MEMORY_GENRE names another genre (at the same tempo and mood).
 *
 * The sources of stems/master/mix (beats of that length) are made first by a
 * child process and kept in a temp directory, so their peak does not hide
 * the measured job's: we report maxRSS and maxRSS minus the RSS before the
 * job. Run one at a time (CPU-bound; the high-water mark never goes down).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Generation, GenerationType } from '../src/generated/prisma/client.js';
import type { Storage } from '../src/storage/index.js';
import type { WorkerDeps } from '../worker/deps.js';
import { EnginePool } from '../worker/engine-pool/pool.js';
import { defaultHandlers } from '../worker/processor.js';

const [kind = 'beat', durationArg = '300', tracksArg = '4'] = process.argv.slice(2);
const durationSec = Number(durationArg);
const tracks = Number(tracksArg);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

const objects = new Map<string, Buffer>();
/**
 * What the measured job writes is hashed and let go, as real storage (a file, an S3 upload) lets it
 * go: keeping it here would count it in the job's peak. Preparing sources keeps them.
 */
const written = new Map<string, { bytes: number; sha256: string }>();
let keepWrites = true;
const storage: Storage = {
  driver: 'local',
  put: async (key, body) => {
    if (keepWrites) objects.set(key, body);
    else written.set(key, { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  },
  get: async (key) => {
    const body = objects.get(key);
    if (!body) throw new Error(`no object ${key}`);
    return body;
  },
  exists: async (key) => objects.has(key),
  size: async (key) => objects.get(key)?.length ?? null,
  delete: async (key) => void objects.delete(key),
  signedUrl: async (key) => key,
  uploadUrl: async (key) => ({ url: key, method: 'PUT', headers: {} }),
};
const rows = new Map<string, Generation>();
const deps = {
  storage,
  prisma: {
    generation: {
      findUnique: async ({ where }: { where: { id: string } }) => rows.get(where.id) ?? null,
      findMany: async ({ where }: { where: { id: { in: string[] } } }) => where.id.in.flatMap((id) => rows.get(id) ?? []),
    },
    // The mix's tracks here are generations, none an upload.
    upload: { findMany: async () => [] },
  },
  log: console,
  // One engine thread, as a job gets: its memory is this process's (maxRSS counts every thread).
  engine: new EnginePool(1),
} as unknown as WorkerDeps;

// Fixed ids, so the digest of what a job writes compares across runs and code changes.
let ids = 0;
const nextId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
const USER = nextId();

function row(type: GenerationType, input: object): Generation {
  const g = { id: nextId(), userId: USER, type, input, status: 'PROCESSING' } as unknown as Generation;
  rows.set(g.id, g);
  return g;
}

async function run(g: Generation): Promise<Generation> {
  const output = await defaultHandlers[g.type](g, async () => {}, deps);
  const done = { ...g, status: 'COMPLETED', output } as unknown as Generation;
  rows.set(g.id, done);
  return done;
}

const genre = process.env.ENGINE_MEMORY_GENRE ?? 'trap';
const beatInput = (seed: number) => ({ genre, bpm: 140, key: 'Am', mood: 'dark', durationSec, seed, targetLufs: -14 });

/** Source beat `i` of this genre and duration, rendered once into the cache directory by a child process. */
const cache = join(tmpdir(), `dawg-engine-memory-${genre}-${durationSec}`);
async function source(i: number): Promise<Generation> {
  const dir = join(cache, String(i));
  if (!existsSync(join(dir, 'row.json'))) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, 'prepare', durationArg, String(i)],
      {
        stdio: 'inherit',
      },
    );
    if (child.status !== 0) throw new Error('could not prepare the source beats');
  }
  const g = JSON.parse(readFileSync(join(dir, 'row.json'), 'utf8')) as Generation;
  for (const name of readdirSync(join(dir, 'files')))
    objects.set(Buffer.from(name, 'base64url').toString(), readFileSync(join(dir, 'files', name)));
  rows.set(g.id, g);
  return g;
}

if (kind === 'prepare') {
  const dir = join(cache, tracksArg);
  ids = 1000 * (1 + Number(tracksArg)); // each source its own id
  const g = await run(row('BEAT', beatInput(1 + Number(tracksArg))));
  mkdirSync(join(dir, 'files'), { recursive: true });
  for (const [key, body] of objects) writeFileSync(join(dir, 'files', Buffer.from(key).toString('base64url')), body);
  writeFileSync(join(dir, 'row.json'), JSON.stringify(g));
  await deps.engine.close();
  process.exit(0);
}

let job: Generation;
if (kind === 'beat') job = row('BEAT', beatInput(1));
else {
  const sources: Generation[] = [];
  for (let i = 0; i < (kind === 'mix' ? tracks : 1); i++) sources.push(await source(i));
  const first = sources[0] as Generation;
  if (kind === 'stems') job = row('STEMS', { sourceGenerationId: first.id });
  else if (kind === 'master') job = row('MASTER', { sourceGenerationId: first.id, targetLufs: -10 });
  else if (kind === 'mix')
    job = row('MIX', {
      projectId: nextId(),
      targetLufs: -14,
      tracks: sources.map((s, i) => ({ generationId: s.id, gainDb: -3, pan: i % 2 ? 0.3 : -0.3, muted: false })),
    });
  else throw new Error(`unknown kind ${kind}: beat, stems, master or mix`);
}

// What the process holds before the job: code, the sources' files in the in-memory store.
await deps.engine.warm();
const stored = [...objects.values()].reduce((a, b) => a + b.length, 0);
keepWrites = false;
(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.memoryUsage().rss;
const maxBefore = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
const cpu = process.cpuUsage();
await run(job);
const ms = Math.round(performance.now() - started);
// CPU time (all threads, GC included): comparable on a busy machine, where wall time is not.
const used = process.cpuUsage(cpu);
const cpuMs = Math.round((used.user + used.system) / 1000);
const peak = process.resourceUsage().maxRSS * 1024;
// Same input and seed, same bytes: a digest of every object the job wrote, by key.
const digest = createHash('sha256');
for (const key of [...written.keys()].sort()) digest.update(key).update((written.get(key) as { sha256: string }).sha256);
console.log(
  JSON.stringify({
    kind,
    durationSec,
    tracks: kind === 'mix' ? tracks : undefined,
    ms,
    cpuMs,
    rssBeforeMiB: mib(rssBefore),
    peakRssMiB: mib(peak),
    // When setting up the sources already peaked higher, the job's own peak is hidden: say so.
    jobPeakMiB: peak > maxBefore ? mib(peak - rssBefore) : `≤ ${mib(maxBefore - rssBefore)} (hidden by setup)`,
    storedBeforeMiB: mib(stored),
    writtenMiB: mib([...written.values()].reduce((a, b) => a + b.bytes, 0)),
    digest: digest.digest('hex').slice(0, 16),
  }),
);
await deps.engine.close();
