import type { Logger } from './logger.js';

/** On SIGTERM or SIGINT: run `stop` once, then exit 0 (1 if stopping failed). */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      stop().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
