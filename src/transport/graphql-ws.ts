/**
 * graphql-ws on the same HTTP server and path as yoga. A socket must present
 * a valid token in `connection_init` ({ authorization: "Bearer <jwt>" }) or it
 * is closed with 4403 before it can subscribe. Operations run through yoga's
 * envelop, so error masking and codes are the same as over HTTP. A ping every
 * WS_KEEPALIVE_MS finds dead peers; one that misses a pong is terminated.
 */
import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import type { Viewer } from '../modules/auth/viewer.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { TokenService } from '../modules/auth/tokens.js';
import { clientIp, type TrustProxy } from '../http/client-ip.js';
import { nodeHeaders } from '../http/node-headers.js';
import { SharedSubscriptions } from './shared-subscriptions.js';
import { errorCode, isGraphQLError } from '../errors.js';

export type WsExtra = { viewer?: Viewer } & Record<PropertyKey, unknown>;

/** What yoga's context function receives for an operation that arrived over graphql-ws. */
export interface WsInitialContext {
  wsViewer: Viewer;
  clientIp: string | null;
}

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute(args: ExecutionArgs): unknown; subscribe(args: ExecutionArgs): unknown; shareKey: string };
};

export function attachGraphqlWs(opts: {
  server: Server;
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: yoga's server/user context generics vary by caller
  yoga: YogaServerInstance<any, any>;
  tokens: TokenService;
  metrics: Metrics;
  log: Logger;
  keepAliveMs: number;
  trustProxy: TrustProxy;
}) {
  const { yoga, tokens, metrics, log } = opts;
  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: 1024 * 1024 });
  const alive = new WeakMap<WebSocket, boolean>();
  const shared = new SharedSubscriptions((size) => metrics.wsSharedStreams.set(size));

  wss.on('connection', (socket) => {
    metrics.wsConnections.inc();
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
    socket.once('close', () => metrics.wsConnections.dec());
  });

  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if (!alive.get(socket)) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, opts.keepAliveMs);
  heartbeat.unref();

  const disposable = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      onConnect: async (ctx) => {
        // GraphiQL sends its header editor's "Authorization"; clients usually "authorization".
        const params = ctx.connectionParams ?? {};
        const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
        const { viewer } = await tokens.fromAuthorization(key ? params[key] : undefined);
        if (!viewer) {
          metrics.wsRefused.inc();
          return false; // graphql-ws closes with 4403 Forbidden
        }
        ctx.extra.viewer = viewer;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const request = ctx.extra.request;
        const initial: WsInitialContext = {
          wsViewer: ctx.extra.viewer as Viewer,
          clientIp: clientIp(request, nodeHeaders(request), opts.trustProxy),
        };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...initial,
          request: ctx.extra.request,
          params: payload,
        });
        let document: ExecutionArgs['document'];
        try {
          document = parse(payload.query);
        } catch (err) {
          // A limit refusal (TOKEN_LIMIT_EXCEEDED) keeps its code.
          if (isGraphQLError(err) && errorCode(err)) return [err];
          const message = err instanceof Error ? err.message : 'Syntax error';
          return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        metrics.wsSubscriptions.inc();
        const args: EnvelopedArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: {
            execute,
            subscribe,
            shareKey: JSON.stringify([
              ctx.extra.viewer?.id,
              payload.query,
              payload.operationName ?? null,
              payload.variables ?? null,
            ]),
          },
        };
        return args;
      },
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => {
        const { rootValue } = args as EnvelopedArgs;
        return shared.subscribe(rootValue.shareKey, async () => rootValue.subscribe(args)) as never;
      },
      onError: (_ctx, _id, _payload, errors) => {
        log.debug({ errors: errors.map((e) => e.message) }, 'graphql-ws operation error');
      },
    },
    wss,
  );

  return {
    wss,
    shared,
    /** Closes every socket with 1001 (going away) and stops the server. */
    async close(): Promise<void> {
      clearInterval(heartbeat);
      for (const socket of wss.clients) socket.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export { WebSocket };
