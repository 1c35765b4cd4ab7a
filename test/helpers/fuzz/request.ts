/** What a fuzz case sends and what came back; shared by the generators, the runner and the report. */

export type Actor = 'anon' | 'owner' | 'stranger';

export interface RawRequest {
  method: string;
  /** Path and query string, e.g. /graphql?query=... */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Sent with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

export interface Outcome {
  /** null: no HTTP response (see `error`). */
  status: number | null;
  ms: number;
  codes: string[];
  /** The start of the response body. */
  body: string;
  error?: string;
}

export interface FuzzCase {
  id: number;
  /** The summary groups by this: what kind of hostile input it is. */
  group: string;
  /** Where it was aimed, e.g. Mutation.createProject(name). */
  target: string;
  actor: Actor;
  /** 'none': the server must refuse it and write nothing. */
  writes: 'none' | 'allowed';
  request: RawRequest;
  /** A body over the limit may be cut off while it is still being sent. */
  allowReset?: boolean;
  /** Cases of one lane go one at a time (password hashing: a queue of them would only measure the queue). */
  lane?: string;
  /** A check beyond the run-wide ones (boundary values); returns what went wrong. */
  expect?: (outcome: Outcome) => string | null;
}

/** A JSON POST of one GraphQL request. */
export function post(payload: unknown, headers: Record<string, string> = {}): RawRequest {
  return {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  };
}

export const expectCodes =
  (allowed: string[]) =>
  (o: Outcome): string | null => {
    if (!o.codes.length) return `expected ${allowed.join('|')}, got no error (status ${o.status})`;
    const other = o.codes.filter((c) => !allowed.includes(c));
    return other.length ? `expected ${allowed.join('|')}, got ${[...new Set(other)].join(',')}` : null;
  };

/**
 * Accepted: 200 with no errors, or refused only by a rate or quota limit, or by optimistic
 * concurrency (CONFLICT: a valid `version` that is not the stored one).
 */
export const expectAccepted = (o: Outcome): string | null => {
  if (o.status !== 200) return `expected 200, got ${o.status}`;
  const other = o.codes.filter((c) => c !== 'RATE_LIMITED' && c !== 'CONFLICT');
  return other.length ? `expected success, got ${[...new Set(other)].join(',')}` : null;
};

/** Refused with any 4xx status (for bodies the transport must not read in full). */
export const expect4xx = (o: Outcome): string | null =>
  o.status !== null && o.status >= 400 && o.status < 500 ? null : `expected a 4xx refusal, got ${o.status ?? o.error}`;
