import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../src/logger.js';

export interface WaitOptions {
  log: Logger;
  /** Aborted when the worker is stopped while it waits. */
  signal?: AbortSignal;
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** How often a still-failing wait is logged at warn (every attempt is logged at debug). */
  warnEveryMs?: number;
}

/**
 * Resolves once `probe` succeeds: the database exists, answers and has its
 * tables. Under `npm start` (or a compose file) the worker may start before
 * the api has created and migrated the database; instead of failing its first
 * reconcile and taking jobs it cannot record, it waits, retrying with backoff
 * (0.2 s doubling to 5 s) for as long as it takes. Returns false when stopped first.
 */
export async function waitForDatabase(probe: () => Promise<unknown>, opts: WaitOptions): Promise<boolean> {
  const { log, signal, firstDelayMs = 200, maxDelayMs = 5_000, warnEveryMs = 30_000 } = opts;
  const started = Date.now();
  let delay = firstDelayMs;
  let attempts = 0;
  let lastWarn = 0;
  for (;;) {
    if (signal?.aborted) return false;
    attempts++;
    try {
      await probe();
      if (attempts > 1) log.info({ attempts, waitedMs: Date.now() - started }, 'database ready');
      return true;
    } catch (err) {
      const reason = describe(err);
      if (!lastWarn || Date.now() - lastWarn >= warnEveryMs) {
        lastWarn = Date.now();
        log.warn({ reason, attempts }, 'waiting for the database (missing, unreachable or not migrated yet)');
      } else log.debug({ reason, attempts }, 'database not ready');
    }
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      return false;
    }
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/** The last line of the error and of its causes (Prisma wraps the driver's error), with their codes. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, i = 0; e && i < 3; e = (e as { cause?: unknown }).cause, i++) {
    // Prisma's message starts with where it was called; the reason is its last line.
    const lines = String((e as Error).message ?? e)
      .split('\n')
      .filter((l) => l.trim());
    const line = lines.at(-1) ?? '';
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}: ${line.trim()}` : line.trim());
  }
  return parts.filter(Boolean).join(' / ').slice(0, 300);
}
