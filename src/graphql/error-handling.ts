/**
 * Every error a client sees carries `extensions.code`:
 * - resolver errors we raised (AppError) pass through;
 * - Pothos validation errors (bad cursor, bad page size) become BAD_USER_INPUT;
 * - document errors become GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED;
 * - variable coercion errors (wrong type, missing required argument) become BAD_USER_INPUT;
 * - malformed HTTP requests (bad JSON body...) become BAD_REQUEST;
 * - PostgreSQL or Redis unreachable becomes SERVICE_UNAVAILABLE with `retryAfter` (logged at error);
 * - anything else is logged with its stack and masked as INTERNAL_SERVER_ERROR.
 */
import { PothosValidationError } from '@pothos/core';
import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type ErrorCode, errorCode, isGraphQLError, serviceUnavailable } from '../errors.js';
import { isDatabaseUnreachable } from '../failures.js';
import { isRedisUnavailable } from '../redis.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/**
 * The longest message a client's mistake is answered (and logged) with. Pothos echoes the value it
 * refused ("Invalid cursor: " + the cursor), so a 1 MB cursor made a 1 MB message, logged and sent
 * back, and took the fuzzer's 1 MB strings past 2 s on a busy machine.
 */
const MAX_MESSAGE = 200;
const bounded = (message: string) => (message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message);

function withCode(error: GraphQLError, code: string, message = error.message): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * yoga's `maskedErrors.maskError`: keeps expected errors, hides the rest.
 * Expected means a GraphQLError that carries a code (ours, or yoga's own);
 * Checked by shape, not instanceof (see isGraphQLError).
 */
export function createMaskError(log: Logger) {
  return (error: unknown): Error => {
    const original = isGraphQLError(error) && error.originalError ? error.originalError : error;
    const code = errorCode(original) ?? errorCode(error);
    // A client's mistake: logged at debug with its code, never at error level (issue 16, item 8).
    if (code) log.debug({ code, path: isGraphQLError(error) ? error.path : undefined }, (error as Error).message);
    if (code && isGraphQLError(error)) return errorCode(error) === code ? error : withCode(error, code);
    if (code) return original as Error;
    if (isGraphQLError(error) && (original as Error)?.name === PothosValidationError.name) {
      const message = bounded(error.message);
      log.debug({ code: 'BAD_USER_INPUT', path: error.path }, message);
      return withCode(error, 'BAD_USER_INPUT', message);
    }
    // A dependency that is down: still a server fault (logged at error with its stack), but the client
    // is told it may send the same request again.
    const down = isDatabaseUnreachable(original) ? 'The database' : isRedisUnavailable(original) ? 'Redis' : null;
    if (down) {
      log.error({ err: original, path: isGraphQLError(error) ? error.path : undefined }, `${down} is unavailable`);
      const refused = serviceUnavailable(down);
      return new GraphQLError(refused.message, {
        path: isGraphQLError(error) ? error.path : undefined,
        extensions: refused.extensions,
      });
    }
    log.error({ err: original, path: isGraphQLError(error) ? error.path : undefined }, 'unexpected error');
    return new GraphQLError('Internal server error', {
      path: isGraphQLError(error) ? error.path : undefined,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}

/**
 * yoga's `logging`. yoga logs at error level every error its masking replaced, client mistakes
 * included; createMaskError has already logged those (debug with the code for the client's,
 * error with the stack for the server's own), so yoga's copy goes to debug. Anything else yoga
 * reports at error level stays there.
 */
export function yogaLogger(log: Logger) {
  const yoga = log.child({ component: 'yoga' });
  return {
    debug: (...args: unknown[]) => yoga.debug(args.map(String).join(' ')),
    info: (...args: unknown[]) => yoga.info(args.map(String).join(' ')),
    warn: (...args: unknown[]) => yoga.warn(args.map(String).join(' ')),
    error: (...args: unknown[]) => {
      const [err] = args;
      if (err instanceof Error) {
        const status = (isGraphQLError(err) ? (err.extensions?.http as { status?: number } | undefined)?.status : undefined) ?? 0;
        yoga.debug({ code: errorCode(err) ?? (status && status < 500 ? 'BAD_REQUEST' : undefined), status }, err.message);
      } else yoga.error(args.map(String).join(' '));
    },
  };
}

/** Adds codes to errors raised before execution, and logs them at debug (they are the client's). */
export function useErrorCodes(log: Logger): Plugin {
  return {
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (!isGraphQLError(result)) return;
        const coded = errorCode(result) ? result : withCode(result, 'GRAPHQL_PARSE_FAILED');
        log.debug({ codes: [errorCode(coded)] }, coded.message);
        if (coded !== result) replaceParseResult(coded);
      },
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (!result.length) return;
        // Limit errors (src/graphql/limits.ts) come with their own code.
        const coded = result.map((e) => (errorCode(e) ? e : withCode(e, 'GRAPHQL_VALIDATION_FAILED')));
        log.debug({ codes: coded.map(errorCode) }, coded[0]?.message ?? 'invalid operation');
        if (coded.some((e, i) => e !== result[i])) setResult(coded);
      },
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!('errors' in result) || !result.errors?.length) return;
        setResult({
          ...result,
          // No path: raised while coercing variables, before any resolver ran.
          errors: result.errors.map((e) => (errorCode(e) || e.path ? e : withCode(e, 'BAD_USER_INPUT'))),
        });
      },
    }),
  };
}

/**
 * yoga's last step for a result (onResultProcess): finishErrors. The lean POST path runs the same
 * function on its results (src/http/graphql-post.ts `finish`), so this is the one yoga-only hook the
 * pipeline allows (src/graphql/pipeline.ts).
 */
export function useFinishErrors(metrics: Metrics): Plugin {
  return {
    onResultProcess: ({ result, setResult }) => {
      const results = Array.isArray(result) ? result : [result];
      const cleaned = results.map((r) => (r && typeof r === 'object' && 'errors' in r ? finishErrors(r, metrics) : r));
      if (cleaned.some((r, i) => r !== results[i]))
        setResult((Array.isArray(result) ? cleaned : cleaned[0]) as Parameters<typeof setResult>[0]);
    },
  };
}

/**
 * HTTP statuses of operations refused as a whole at execution (no data), given as yoga gives
 * validation errors theirs: used for application/graphql-response+json (GraphQL over HTTP: a
 * response without data is a 4xx), while application/json keeps 200 for clients that read the
 * errors of a 200 only. yoga drops the `http` extension from what it sends.
 */
const REFUSAL_STATUS: Partial<Record<ErrorCode, number>> = { COST_LIMIT_EXCEEDED: 400, RATE_LIMITED: 429 };

/**
 * The last step for a result's errors before they are sent: every error gets a code (yoga's own
 * HTTP errors become BAD_REQUEST or INTERNAL_SERVER_ERROR), development-only details are dropped,
 * and errors are counted by code. Returns `result` itself when nothing changed.
 */
export function finishErrors<R extends { errors?: readonly GraphQLError[]; data?: unknown }>(result: R, metrics: Metrics): R {
  if (!result.errors?.length) return result;
  let changed = false;
  const refused = result.data === undefined;
  const errors = result.errors.map((e) => {
    let next = e;
    if (!errorCode(next)) {
      const status = (next.extensions?.http as { status?: number } | undefined)?.status;
      next = withCode(next, status && status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR');
    }
    const status = REFUSAL_STATUS[errorCode(next) as ErrorCode];
    if (refused && status && !next.extensions?.http) {
      const retryAfter = next.extensions?.retryAfter;
      const headers = typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : undefined;
      next = new GraphQLError(next.message, {
        nodes: next.nodes,
        path: next.path,
        extensions: { ...next.extensions, http: { spec: true, status, ...(headers ? { headers } : {}) } },
      });
    }
    if (next.extensions && 'originalError' in next.extensions) {
      // yoga attaches the parser's own error in development; clients get the message only.
      const { originalError: _hidden, ...extensions } = next.extensions;
      next = new GraphQLError(next.message, { nodes: next.nodes, path: next.path, extensions });
    }
    changed ||= next !== e;
    metrics.graphqlErrors.inc({ code: String(errorCode(next)) });
    return next;
  });
  return changed ? { ...result, errors } : result;
}

/**
 * Counts and times queries and mutations by operation name. The name label is bounded
 * (metrics.operationName): a name the document does not define, or one past the cap, is 'other'.
 */
export function useOperationMetrics(metrics: Metrics): Plugin {
  return {
    onExecute: ({ args }) => {
      const op = getOperationAST(args.document as DocumentNode, args.operationName ?? undefined);
      const type = op?.operation ?? 'unknown';
      const name = op ? (op.name ? metrics.operationName(op.name.value) : 'anonymous') : 'other';
      const stop = metrics.graphqlDuration.startTimer({ type, name });
      return {
        onExecuteDone: ({ result }) => {
          stop();
          const failed = 'errors' in result && Boolean(result.errors?.length);
          metrics.graphqlOperations.inc({ type, name, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}
