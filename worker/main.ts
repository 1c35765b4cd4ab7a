/** The worker process: `npm run worker` (or started by `npm start` beside the api). */
import { loadAppConfigOrExit } from '../src/secrets.js';
import { stopOnSignals } from '../src/shutdown.js';
import { createLogger } from '../src/logger.js';
import { buildWorker } from './worker.js';

const { config, message: secretsMessage } = loadAppConfigOrExit();
const log = createLogger(config, 'dawg-worker');
log.info(secretsMessage);
const worker = buildWorker(config, { log });
// Before start: it may wait a while for the database, and a signal then must stop it cleanly.
stopOnSignals(() => worker.stop(), log);
await worker.start();
