/**
 * Prisma's schema engine, compiled to WebAssembly, driven over the pg driver
 * adapter. It is the same engine code as the native binary behind
 * `prisma migrate deploy`, so it writes `_prisma_migrations` identically
 * (same table, same checksums), yet needs nothing beyond the npm registry.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import * as wasmBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { fromRoot } from '../paths.js';
import { dropDatabase, ensureDatabase } from './ensure-database.js';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';

export const PRISMA_DIR = fromRoot('prisma');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

export const MIGRATION_LOCK_FILE = 'migration_lock.toml';
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

const EMPTY_MIGRATION = '-- This is an empty migration.';

interface WasmApi {
  compile(bytes: Uint8Array): Promise<unknown>;
  instantiate(module: unknown, imports: Record<string, unknown>): Promise<{ exports: unknown }>;
}

let wasmReady = false;

/** Instantiates the wasm module once per process (Node cannot `import` .wasm without a flag). */
async function loadWasm(): Promise<void> {
  if (wasmReady) return;
  const jsPath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(jsPath.replace(/\.js$/, '.wasm'));
  // Node's global WebAssembly; typed locally so the project needs no DOM lib.
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = await wasm.instantiate(await wasm.compile(bytes), { './schema_engine_bg.js': wasmBindings });
  const exports = instance.exports as { __wbindgen_start(): void };
  (wasmBindings as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
  exports.__wbindgen_start();
  wasmReady = true;
}

export interface EngineHandle {
  engine: SchemaEngine;
  schema: string;
  close(): Promise<void>;
}

/**
 * Discrete pg settings rather than a connection string: PrismaPg builds the
 * shadow database pool as `{ ...config, database }`, and a connectionString
 * there would override the shadow database's name.
 */
function poolConfig(databaseUrl: string) {
  const url = new URL(databaseUrl);
  return {
    host: decodeURIComponent(url.hostname) || undefined,
    port: url.port ? Number(url.port) : undefined,
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    ssl: ['require', 'verify-full', 'verify-ca'].includes(url.searchParams.get('sslmode') ?? '') ? true : undefined,
  };
}

/**
 * PrismaPg's own connectToShadowDb drops the shadow database while its pool
 * still holds a connection, which PostgreSQL refuses; this one closes the pool
 * first and drops with FORCE.
 */
function migrationAdapter(databaseUrl: string): { factory: SqlMigrationAwareDriverAdapterFactory; dispose(): Promise<void> } {
  const config = poolConfig(databaseUrl);
  const main = new PrismaPg(config);
  // The engine never disposes what it connects; we do, so no pool (and no advisory-lock session) outlives it.
  const open: { dispose(): Promise<void> }[] = [];
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => {
      const adapter = readPgCharAsText(await main.connect());
      open.push(adapter);
      return adapter;
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await ensureDatabase(databaseUrlWithDatabase(databaseUrl, name));
      const shadow = readPgCharAsText(await new PrismaPg({ ...config, database: name }).connect());
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await dropDatabase(databaseUrlWithDatabase(databaseUrl, name));
      };
      return shadow;
    },
  };
  return { factory, dispose: async () => void (await Promise.allSettled(open.splice(0).map((a) => a.dispose()))) };
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * adapter-pg rejects PostgreSQL's internal one-byte `"char"` type (OID 18),
 * which the engine's catalog queries read when it introspects a database
 * (diffing from migrations). node-postgres already returns it as a string, so
 * labelling it text is exact.
 */
function readPgCharAsText<A extends object>(adapter: A): A {
  type Io = { performIO(query: unknown): Promise<{ fields: { dataTypeID: number }[] }> };
  const io = adapter as unknown as Io;
  const performIO = io.performIO.bind(io);
  io.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result.fields) if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    return result;
  };
  return adapter;
}

function databaseUrlWithDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Opens the engine on `databaseUrl` with the committed schema.prisma. */
export async function openSchemaEngine(databaseUrl: string, log: (line: string) => void = () => {}): Promise<EngineHandle> {
  await loadWasm();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const adapter = migrationAdapter(databaseUrl);
  const engine = await wasmBindings.SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, schema]] },
    log,
    bindMigrationAwareSqlAdapterFactory(adapter.factory),
  );
  return {
    engine,
    schema,
    close: async () => {
      engine.free();
      await adapter.dispose();
    },
  };
}

/** Reads prisma/migrations in the shape the engine expects (sorted by directory name). */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationList> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lock = await readFile(join(dir, MIGRATION_LOCK_FILE), 'utf8').catch(() => null);
  return {
    baseDir: resolve(dir),
    lockfile: { path: MIGRATION_LOCK_FILE, content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      dirs.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(join(dir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (err: Error) => ({ tag: 'error' as const, value: err.message }),
          ),
        },
      })),
    ),
  };
}

/** Applies every unapplied migration; returns the names applied now. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const handle = await openSchemaEngine(databaseUrl);
  try {
    const out = await handle.engine.applyMigrations({ migrationsList: await readMigrations(), filters: NO_FILTER });
    return out.appliedMigrationNames;
  } finally {
    await handle.close();
  }
}

/**
 * SQL that would take a database built from the committed migrations to the
 * current schema.prisma; empty when they agree. Uses a throwaway shadow
 * database on the same server.
 */
export async function diffMigrationsToSchema(databaseUrl: string): Promise<string> {
  const handle = await openSchemaEngine(databaseUrl);
  try {
    const migrations = await readMigrations();
    const result = await handle.engine.diff({
      from: migrations.migrationDirectories.length ? { tag: 'migrations', ...migrations } : { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: handle.schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    });
    const sql = (result.stdout ?? '').trim();
    return sql === EMPTY_MIGRATION ? '' : sql;
  } finally {
    await handle.close();
  }
}
