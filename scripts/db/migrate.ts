/** `npm run db:migrate`: creates the database if needed and applies pending migrations (offline, via the wasm schema engine). */
import { loadConfigOrExit } from '../../src/config.js';
import { ensureDatabase } from '../../src/db/ensure-database.js';
import { applyMigrations } from '../../src/db/schema-engine.js';

const { DATABASE_URL } = loadConfigOrExit();
if (await ensureDatabase(DATABASE_URL)) console.log('created the database');
const applied = await applyMigrations(DATABASE_URL);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
