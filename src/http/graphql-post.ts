/**
 * A lean path for the most common GraphQL request, a query or mutation POSTed as JSON, from a client
 * that prefers a JSON answer: application/json or application/graphql-response+json first in
 * Accept, or no Accept.
 *
 * It runs yoga's own envelop pipeline (src/graphql/pipeline.ts), as the graphql-ws transport does:
 * the parse and validation caches, operation limits, error masking, codes, operation metrics, rate
 * limits and the same context. CORS headers come from the same whatwg-node function yoga uses. The
 * HTTP front stage (src/http/front.ts) has already applied the HTTP-only policies (CSRF, body limit,
 * JSON syntax) and read the body. What it skips is yoga's Fetch-API adaptation of the Node request
 * and response, which cost ~0.3 ms of CPU per request: about a third of a chat message's work before
 * its first chunk (docs/benchmarks.md, chat).
 *
 * A result with errors is rendered by yoga's own result processor, so its status and body are
 * yoga's. Everything else goes to yoga unchanged: GET, other content types, SSE or multipart,
 * subscriptions, bodies that are not one JSON operation, and parse or validation errors.
 * test/integration/graphql-post.test.ts compares the answers with the path on and off
 * (GRAPHQL_LEAN_POST=false turns it off).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { type CORSOptions, getCORSHeadersByRequestAndOptions } from '@whatwg-node/server';
import { type ExecutionResult, getOperationAST, type GraphQLError } from 'graphql';
import { processRegularResult, type YogaServerInstance } from 'graphql-yoga';
import { isGraphQLError } from '../errors.js';
import type { GraphqlBody } from './front.js';
import { nodeHeaders } from './node-headers.js';
import { withFields } from '../with-fields.js';

// biome-ignore lint/suspicious/noExplicitAny: yoga's server/user context generics vary by caller
type Yoga = YogaServerInstance<any, any>;

type JsonType = 'application/json' | 'application/graphql-response+json';

/** The answer type when the lean path can give it; null sends the request to yoga. */
function jsonAnswer(req: IncomingMessage): JsonType | null {
  if (req.method !== 'POST') return null;
  if (!req.headers['content-type']?.toLowerCase().startsWith('application/json')) return null;
  const first = (req.headers.accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (first === '' || first === '*/*' || first === 'application/json') return 'application/json';
  if (first === 'application/graphql-response+json') return 'application/graphql-response+json';
  return null;
}

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

function asParams(parsed: unknown): Params | null {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const { query, variables, operationName, extensions, ...rest } = parsed as Record<string, unknown>;
  if (typeof query !== 'string' || Object.keys(rest).length) return null;
  if (extensions !== undefined && extensions !== null && (typeof extensions !== 'object' || Array.isArray(extensions)))
    return null;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
  return { query, variables: variables as Params['variables'], operationName: operationName as Params['operationName'] };
}

/**
 * Hands a request to yoga with the body the front stage already read (as behind Express, via
 * `req.body`): a JSON object as parsed, anything else as a stream again. Never the Buffer itself:
 * whatwg-node's adapter calls Object.keys() on `req.body`, which for a Buffer lists every byte
 * (about 7 ms for 80 KB, per request).
 */
export function toYoga(yoga: Yoga, req: IncomingMessage, res: ServerResponse, body: GraphqlBody | null) {
  if (body) {
    const { json, raw } = body;
    const plainObject = json !== null && typeof json === 'object' && !Array.isArray(json) && Object.keys(json).length > 0;
    (req as IncomingMessage & { body?: unknown }).body = plainObject ? json : Readable.from([raw]);
  }
  return yoga(req, res);
}

/**
 * Handles `req` if the lean path can, and hands it to yoga otherwise, with the body already read
 * (by the HTTP front stage, src/http/front.ts, which also applied the body limit and CSRF rule).
 * `finish` is the last step for a result's errors (codes, metrics), as yoga's onResultProcess runs it.
 */
export function createGraphqlPost(
  yoga: Yoga,
  opts: {
    /** yoga's `cors` option, applied the way yoga applies it. */
    cors: CORSOptions;
    finish: (result: ExecutionResult) => ExecutionResult;
    /** Hears which handler answered each request. */
    handled: (handler: 'lean' | 'yoga') => void;
    /** A result's JSON when it is already made (a response cache hit: ResponseCache.answerText). */
    answerText?: (result: ExecutionResult) => string | undefined;
  },
) {
  return async (req: IncomingMessage, res: ServerResponse, body: GraphqlBody | null): Promise<void> => {
    const yogaAnswers = () => {
      opts.handled('yoga');
      return toYoga(yoga, req, res, body);
    };
    const type = jsonAnswer(req);
    if (!type || !body) return yogaAnswers();
    const params = asParams(body.json);
    if (!params) return yogaAnswers();
    const headers = nodeHeaders(req);
    const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({
      req,
      request: { headers },
      params,
    });
    let document: ReturnType<typeof parse>;
    try {
      document = parse(params.query);
    } catch {
      return yogaAnswers();
    }
    if (validate(schema, document).length) return yogaAnswers();
    const operation = getOperationAST(document, params.operationName ?? undefined);
    if (!operation || operation.operation === 'subscription') return yogaAnswers();
    opts.handled('lean');
    const cors = getCORSHeadersByRequestAndOptions({ method: 'POST', headers } as Request, opts.cors) ?? {};

    let result: ExecutionResult;
    try {
      result = (await execute({
        schema,
        document,
        variableValues: params.variables ?? undefined,
        operationName: params.operationName ?? undefined,
        contextValue: await contextFactory(),
      })) as ExecutionResult;
    } catch (err) {
      // The context could not be built (PostgreSQL down, for a token whose version Redis does not
      // hold): error masking has logged the cause and thrown its replacement, answered as yoga would.
      if (!isGraphQLError(err)) throw err;
      result = { errors: [err] };
    }
    if (!result.errors?.length) {
      const json = opts.answerText?.(result) ?? JSON.stringify(result);
      res.writeHead(
        200,
        withFields(cors, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(json) }),
      );
      res.end(json);
      return;
    }
    const response = processRegularResult(
      opts.finish(result) as ExecutionResult & { errors: GraphQLError[] },
      yoga.fetchAPI,
      type,
    );
    const text = await response.text();
    res.writeHead(response.status, withFields(cors, Object.fromEntries(response.headers.entries())));
    res.end(text);
  };
}
