import { type DestinationStream, pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { traceFields } from './tracing.js';

export type { Logger };

/**
 * Structured JSON logs on stdout; one logger per process, children per component. A line written
 * inside a traced span carries its trace_id and span_id (src/tracing.ts); a request's lines carry its
 * request_id (the GraphQL context's logger).
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'dawg', destination?: DestinationStream): Logger {
  const options = {
    name,
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization', 'password', '*.password'],
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}
