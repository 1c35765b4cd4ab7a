/** `work`, or a rejection with TimeoutError after `ms` (the work itself is not cancelled). */
export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work` (its failure ignored), or `ms` at most: for closing steps that must not hang a stop. */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  await withTimeout(work, ms).catch(() => undefined);
}
