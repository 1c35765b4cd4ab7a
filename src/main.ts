/**
 * The api process: `npm start` (with the worker) or `npm run api` (alone).
 * Migrates the database first unless MIGRATE_ON_START=false.
 */
import { buildApp } from './app.js';
import { startHeapTrim } from './heap-trim.js';
import { ensureDatabase } from './db/ensure-database.js';
import { applyMigrations } from './db/schema-engine.js';
import { stopOnSignals } from './shutdown.js';
import { createLogger } from './logger.js';
import { loadAppConfigOrExit } from './secrets.js';
import { startTracing } from './tracing.js';

const { config, message: secretsMessage } = loadAppConfigOrExit();
const log = createLogger(config);
log.info(secretsMessage);

if (config.MIGRATE_ON_START) {
  if (await ensureDatabase(config.DATABASE_URL)) log.info('created the database');
  const applied = await applyMigrations(config.DATABASE_URL);
  if (applied.length) log.info({ applied }, 'applied migrations');
}

const tracing = await startTracing({ serviceName: 'dawg-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
if (tracing.enabled) log.info({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing: exporting spans over OTLP/HTTP');

const app = buildApp(config, { log });
await app.start();
const stopHeapTrim = startHeapTrim({
  idleMs: config.HEAP_TRIM_IDLE_MS,
  minGrowthBytes: config.HEAP_TRIM_MIN_GROWTH_MB * 1024 * 1024,
  log,
});

stopOnSignals(async () => {
  stopHeapTrim();
  await app.stop();
  await tracing.shutdown().catch((err) => log.warn({ err }, 'tracing: last spans not exported'));
}, log);
