/**
 * The api process: `npm start` (with the worker) or `npm run api` (alone).
 * Migrates the database first unless MIGRATE_ON_START=false.
 */
import { buildApp } from './app.js';
import { ensureDatabase } from './db/ensure-database.js';
import { applyMigrations } from './db/schema-engine.js';
import { stopOnSignals } from './shutdown.js';
import { createLogger } from './logger.js';
import { loadAppConfigOrExit } from './secrets.js';

const { config, message: secretsMessage } = loadAppConfigOrExit();
const log = createLogger(config);
log.info(secretsMessage);

if (config.MIGRATE_ON_START) {
  if (await ensureDatabase(config.DATABASE_URL)) log.info('created the database');
  const applied = await applyMigrations(config.DATABASE_URL);
  if (applied.length) log.info({ applied }, 'applied migrations');
}

const app = buildApp(config, { log });
await app.start();

stopOnSignals(() => app.stop(), log);
