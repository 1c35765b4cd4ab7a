import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Structured JSON logs on stdout; one logger per process, children per component. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'dawg'): Logger {
  return pino({ name, level: config.LOG_LEVEL, redact: ['req.headers.authorization', 'password', '*.password'] });
}
