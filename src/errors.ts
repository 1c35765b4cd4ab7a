/**
 * Expected failures, each with the `extensions.code` clients rely on
 * (docs/api-guide.md). Anything else thrown in a resolver is logged and masked
 * as INTERNAL_SERVER_ERROR.
 */
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  // A write that named a version older than the stored one (optimistic concurrency); `current` holds the row now.
  | 'CONFLICT'
  // PostgreSQL or Redis cannot be reached right now (an outage, a restart, a failover): send it again
  // after `retryAfter` seconds. Nothing was changed.
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'BAD_REQUEST'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  // Operation limits (src/graphql/limits.ts), refused before any resolver runs:
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'ALIAS_LIMIT_EXCEEDED'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'DIRECTIVE_LIMIT_EXCEEDED'
  | 'COST_LIMIT_EXCEEDED';

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export const unauthenticated = (message = 'You must be logged in') => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message);
/** Also used for other users' resources, so their existence is not revealed. */
export const notFound = (what: string, id?: string) =>
  new AppError('NOT_FOUND', id ? `${what} ${id} not found` : `${what} not found`);
export const conflict = (what: string, current: Record<string, unknown>) =>
  new AppError(
    'CONFLICT',
    `This ${what} was changed by someone else (now at version ${String(current.version)}): apply your change to the current state and send it again`,
    { current },
  );
export const badInput = (field: string, message: string) => new AppError('BAD_USER_INPUT', `${field}: ${message}`, { field });
export const serviceUnavailable = (what: string, retryAfterSec = 5) =>
  new AppError('SERVICE_UNAVAILABLE', `${what} is unavailable right now; nothing was changed, retry in ${retryAfterSec}s`, {
    retryAfter: retryAfterSec,
  });
export const rateLimited = (retryAfterSec: number) =>
  new AppError('RATE_LIMITED', `Too many requests, retry in ${retryAfterSec}s`, { retryAfter: retryAfterSec });

/**
 * Shape check rather than instanceof: under some loaders (vitest) graphql's ESM
 * and CJS builds coexist, and an error from one fails instanceof on the other.
 */
export function isGraphQLError(err: unknown): err is GraphQLError {
  return err instanceof Error && 'extensions' in err && 'path' in err && 'locations' in err;
}

export function errorCode(err: unknown): ErrorCode | undefined {
  return isGraphQLError(err) ? (err.extensions?.code as ErrorCode | undefined) : undefined;
}
