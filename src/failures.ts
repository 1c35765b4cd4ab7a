/**
 * Why a generation or a reply failed, as clients read it in `Generation.error`
 * and `Message.error`: `CODE: short sentence`, from the small closed set below.
 * The raw cause (a provider's HTTP error, pg or S3 details, file paths) never
 * goes there: it is logged with the generation or message id. Api and worker
 * both write these; docs/api-guide.md lists them.
 */

export const FAILURE_TEXT = {
  /** The stored request cannot be made (a rule it breaks, a source that is not a finished generation). */
  INVALID_INPUT: 'the request cannot be made as given',
  /** Object storage (local directory or S3) refused a read or write. */
  STORAGE_UNAVAILABLE: 'could not store the audio, retry later',
  /** PostgreSQL refused or could not be reached. */
  DATABASE_UNAVAILABLE: 'the database did not answer, retry later',
  /** The audio engine threw: a defect on our side, logged with the job id. */
  ENGINE_FAILED: 'the audio engine could not make it',
  /** The job's worker stopped or lost its lock too often while running it. */
  WORKER_LOST: 'the worker stopped while making it, retry',
  /** Every configured AI provider failed or timed out (chat replies). */
  PROVIDERS_UNAVAILABLE: 'no AI provider could answer, ask again',
  /** The reply could not be passed on to its subscribers (Redis). */
  DELIVERY_FAILED: 'the reply could not be delivered, ask again',
} as const;

export type FailureCode = keyof typeof FAILURE_TEXT;
export const FAILURE_CODES = Object.keys(FAILURE_TEXT) as FailureCode[];

/** The text stored in an `error` column. Branded so that nothing else (an `err.message`) type-checks there. */
export type FailureReason = string & { readonly __failureReason: true };

/**
 * `detail` replaces the default sentence; it must be our own words (a rule's
 * message, provider names), never text taken from an exception.
 */
export function failureReason(code: FailureCode, detail?: string): FailureReason {
  return `${code}: ${detail ?? FAILURE_TEXT[code]}` as FailureReason;
}

/** A failure whose client-facing reason is known where it is thrown; `final` ones are not retried. */
export class Failure extends Error {
  readonly final: boolean;

  constructor(
    readonly code: FailureCode,
    readonly detail?: string,
    options: { cause?: unknown; final?: boolean } = {},
  ) {
    super(failureReason(code, detail), { cause: options.cause });
    this.name = 'Failure';
    this.final = options.final ?? false;
  }

  get reason(): FailureReason {
    return failureReason(this.code, this.detail);
  }
}

/**
 * The reason to show for any thrown value: a `Failure` anywhere in the cause
 * chain keeps its own; database errors (Prisma, its pg adapter, pg itself) are
 * DATABASE_UNAVAILABLE; S3 errors STORAGE_UNAVAILABLE; anything else is the
 * engine's (worker) — callers with other work pass their own fallback.
 */
export function classifyFailure(err: unknown, fallback: FailureCode = 'ENGINE_FAILED'): Failure {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Failure) return e;
    if (isDatabaseError(e)) return new Failure('DATABASE_UNAVAILABLE', undefined, { cause: err });
    if (isS3Error(e)) return new Failure('STORAGE_UNAVAILABLE', undefined, { cause: err });
  }
  return new Failure(fallback, undefined, { cause: err });
}

function isDatabaseError(e: unknown): boolean {
  const x = e as { name?: unknown; code?: unknown; severity?: unknown };
  if (typeof x !== 'object' || x === null) return false;
  if (typeof x.name === 'string' && (/^PrismaClient/.test(x.name) || x.name === 'DriverAdapterError')) return true;
  // node-postgres' DatabaseError: a SQLSTATE code and a severity.
  return typeof x.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code) && typeof x.severity === 'string';
}

function isS3Error(e: unknown): boolean {
  const x = e as { $metadata?: unknown; $fault?: unknown };
  return typeof x === 'object' && x !== null && ('$metadata' in x || '$fault' in x);
}

const UNREACHABLE_CODE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|57P0[123]|08[0-9A-Z]{3}|53300)$/;
const UNREACHABLE_KIND = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|the database system is (starting up|shutting down)/i;

/**
 * What each error in a cause chain (up to 6 deep) says about PostgreSQL: its code (pg's SQLSTATE or
 * a socket error code; Prisma's adapter error keeps the driver's in its meta), the adapter's error
 * kind, and the message.
 */
function* databaseErrors(err: unknown): Generator<{ code: unknown; kind: unknown; message: string }> {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const adapter = (e as { meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown } } } }).meta
      ?.driverAdapterError?.cause;
    yield {
      code: adapter?.originalCode ?? (e as { code?: unknown }).code,
      kind: (adapter ?? (e as { cause?: { kind?: unknown } }).cause)?.kind,
      message: e instanceof Error ? e.message : '',
    };
  }
}

/**
 * Whether PostgreSQL could not be reached (down, restarting, out of connections) rather than
 * refusing a statement: the same request may succeed later.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (const { code, kind, message } of databaseErrors(err)) {
    if (typeof kind === 'string' && UNREACHABLE_KIND.has(kind)) return true;
    if (typeof code === 'string' && UNREACHABLE_CODE.test(code)) return true;
    if (UNREACHABLE_MESSAGE.test(message)) return true;
  }
  return false;
}

/**
 * Whether a failure is an outage to wait out (storage, or the database unreachable or refusing for
 * now) rather than a defect to report: a statement PostgreSQL rejects (SQLSTATE classes 22 data, 23
 * constraint, 42 syntax or a missing relation) will fail the same way however long one waits.
 */
export function isOutage(failure: Failure): boolean {
  if (failure.code === 'STORAGE_UNAVAILABLE') return true;
  if (failure.code !== 'DATABASE_UNAVAILABLE') return false;
  for (const { code } of databaseErrors(failure))
    if (typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code)) return false;
  return true;
}
