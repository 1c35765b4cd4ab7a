/** The worker process: `npm run worker` (or started by `npm start` beside the api). */
import { loadAppConfigOrExit } from '../src/secrets.js';
import { stopOnSignals } from '../src/shutdown.js';
import { createLogger } from '../src/logger.js';
import { startTracing } from '../src/tracing.js';
import { buildWorker } from './worker.js';

const { config, message: secretsMessage } = loadAppConfigOrExit();
const log = createLogger(config, 'dawg-worker');
log.info(secretsMessage);
const tracing = await startTracing({ serviceName: 'dawg-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
if (tracing.enabled) log.info({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing: exporting spans over OTLP/HTTP');
const worker = buildWorker(config, { log });
// Before start: it may wait a while for the database, and a signal then must stop it cleanly.
stopOnSignals(async () => {
  await worker.stop();
  await tracing.shutdown().catch((err) => log.warn({ err }, 'tracing: last spans not exported'));
}, log);
await worker.start();
