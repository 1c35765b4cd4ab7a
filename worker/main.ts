/** The worker process: `npm run worker` (or started by `npm start` beside the api). */
import { loadConfigOrExit } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { buildWorker } from './worker.js';

const config = loadConfigOrExit();
const log = createLogger(config, 'dawg-worker');
const worker = buildWorker(config, { log });
await worker.start();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'worker shutting down');
    worker.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  });
}
