/**
 * graphql-ws on the same HTTP server and path as yoga. A socket must present
 * a valid token in `connection_init` ({ authorization: "Bearer <jwt>" }) or it
 * is closed with 4403 before it can subscribe. Operations run through yoga's
 * envelop (parse, validate, context, execute/subscribe and their plugins), so
 * limits, error masking and codes are the same as over HTTP. A ping every
 * WS_KEEPALIVE_MS finds dead peers; one that misses a pong is terminated.
 *
 * graphql-ws's protocol core (makeServer) is driven by our own socket adapter
 * rather than its `useServer`, because the adapter must:
 *  - keep every operation of a socket in one registry, released when the socket
 *    closes or the server stops (graphql-ws forgets an operation whose id is
 *    reused while its setup is still running: subscribe + complete + subscribe
 *    on one id left streams and Redis channels live forever);
 *  - order messages per id: a `complete` waits until its operation is set up,
 *    and a `subscribe` reusing a completed id waits until the old one is gone;
 *  - bound what a socket may hold: subscriptions (WS_MAX_SUBSCRIPTIONS), sockets
 *    per user (WS_MAX_SOCKETS_PER_USER), bytes queued for a slow reader
 *    (WS_MAX_BUFFERED_BYTES), and the token's lifetime;
 *  - end a socket whose token was revoked (logOut, logOutEverywhere on any instance): each subscribe
 *    rechecks the socket's token, and every open socket's token is rechecked once per `tokenCheckMs`
 *    (a slice of the sockets every 100 ms or so: rounds.ts, like the keepalive pings).
 *    TokenService.recheck re-reads a token's revocations at most every RECHECK_MS (no signature
 *    check; a slice's tokens share one Redis MGET, one per user on a Cluster: revocations.ts), so a revoked
 *    socket is closed within about a second;
 *  - write a shared stream's results itself (shared-subscriptions.ts): each result is serialized once
 *    and every subscriber's socket gets the `next` message graphql-ws would send (next-frames.ts),
 *    through the same `write` as graphql-ws's own messages, so the send-queue bound applies alike.
 *    graphql-ws still owns each operation's lifecycle (complete, error, the client's complete); it
 *    must not be given an onNext hook or jsonMessageReplacer, which shared results never pass;
 *  - write every message as one whole WebSocket text frame, in one write to the socket's connection
 *    (text-frames.ts), rather than through ws's `send`, which writes a header and the message apart.
 *
 * Close codes (docs/api-guide.md): 4401 the token expired or was revoked (or subscribe
 * before connection_init), 4403 no or bad token, 4408 no connection_init within
 * WS_INIT_TIMEOUT_MS or the send queue overflowed (a slow reader; clients
 * reconnect and resume with fromIndex), 4409 duplicate id, 4429 too many sockets
 * for this user. A subscribe over WS_MAX_SUBSCRIPTIONS gets an error result with
 * code RATE_LIMITED and the socket stays open.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { type ExecutionArgs, GraphQLError, getOperationAST, Kind, type SelectionSetNode } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import { AppError, errorCode, isGraphQLError } from '../errors.js';
import { groupBy } from '../group-by.js';
import { checkOnly, isShareable, releaseSubscription, takeRelease, wasCancelled } from '../graphql/live-subscription.js';
import { clientIp, type TrustProxy } from '../http/client-ip.js';
import { nodeHeaders } from '../http/node-headers.js';
import type { Logger } from '../logger.js';
import { type Metrics, wsCloseReason } from '../metrics.js';
import type { TokenService, VerifiedToken } from '../modules/auth/tokens.js';
import type { Viewer } from '../modules/auth/viewer.js';
import { nextFrame, nextPayload } from './next-frames.js';
import { Rounds } from './rounds.js';
import { textFrame } from './text-frames.js';
import { type FirstOutcome, SharedSubscriptions } from './shared-subscriptions.js';
import { WriteBatch } from './write-batch.js';

/** Close codes of our own (graphql-ws's are in its CloseCode). */
export const WS_CLOSE = {
  /** Service restart: the pub/sub connection was cut and is back; reconnect and resubscribe. */
  resync: 1012,
  tokenExpired: 4401,
  sendQueueFull: 4408,
  tooManySockets: 4429,
} as const;

/** Longest delay setTimeout accepts; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WsLimits {
  /** Operations (set up or waiting) per socket. */
  maxSubscriptions: number;
  /** Authenticated sockets per user in this process. */
  maxSocketsPerUser: number;
  /** Bytes queued for a socket before it is closed as a slow reader. */
  maxBufferedBytes: number;
  /** How long a socket may wait before connection_init. */
  initTimeoutMs: number;
  /** Largest incoming frame (a bigger one closes the socket with 1009). */
  maxPayloadBytes: number;
  /** How often the tokens of open sockets are verified again (revocations end them). */
  tokenCheckMs: number;
}

export const DEFAULT_WS_LIMITS: WsLimits = {
  maxSubscriptions: 100,
  maxSocketsPerUser: 20,
  maxBufferedBytes: 1024 * 1024,
  initTimeoutMs: 3000,
  maxPayloadBytes: 1024 * 1024,
  tokenCheckMs: 750,
};

/** What yoga's context function receives for an operation that arrived over graphql-ws. */
export interface WsInitialContext<Upgrade = unknown> {
  wsViewer: Viewer;
  clientIp: string | null;
  /** What `describeUpgrade` read from the socket's upgrade request when the socket connected. */
  upgrade: Upgrade;
}

/**
 * The `request` of every graphql-ws operation's initial context. yoga reads its method (a mutation
 * must come in a POST: an upgrade is a GET). The upgrade's IncomingMessage itself, with its stream
 * state and headers (a browser's cookies among them), is not kept for the life of the socket: what
 * operations need of it is read once, at the upgrade (`describeUpgrade`, the client's IP).
 */
const UPGRADE_REQUEST = Object.freeze({ method: 'GET' });

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** One subscribe message's operation, from its arrival until graphql-ws has finished with it. */
interface Operation {
  id: string;
  /** The socket it runs on (a shared stream writes its results there). */
  state: WsExtra;
  /** The client sent `complete` for it. */
  completeRequested: boolean;
  /** It passed the per-socket limit (counted until it completes). */
  admitted: boolean;
  /** It waits for an earlier operation of its id to finish. */
  waiting: boolean;
  /** graphql-ws has either stored its stream or answered it (error, single result). */
  setUp: Deferred;
  finished: Deferred;
  /** The stream graphql-ws iterates, once set up: returned on close. */
  stream: AsyncIterable<unknown> | null;
  /** Its GraphQL context: the key to its Redis subscription (graphql/live-subscription.ts). */
  context: object | null;
  /** Its root field (a schema field: validated), for dawg_ws_active_subscriptions. */
  field: string | null;
  /** Counted in dawg_ws_active_subscriptions (its stream was set up). */
  active: boolean;
}

/** Returns the operation's stream and ends its Redis subscription directly (both idempotent). */
function release(op: Operation) {
  const stream = op.stream as { return?(): unknown } | null;
  if (stream?.return) Promise.resolve(stream.return()).catch(() => {});
  if (op.context) releaseSubscription(op.context).catch(() => {});
}

/** Per-socket state (graphql-ws's ctx.extra). */
export interface WsExtra {
  socket: WebSocket;
  /** The connection under `socket`: messages are written to it as whole frames (text-frames.ts). */
  wire: Socket;
  /** What `describeUpgrade` read from the upgrade request. */
  upgrade: unknown;
  viewer?: Viewer;
  /** The token the socket was opened with, once accepted (rechecked: a revocation ends the socket). */
  grant: VerifiedToken | null;
  clientIp: string | null;
  /** Every operation of the socket that is set up, running or waiting its turn. */
  operations: Set<Operation>;
  /** The latest operation per id (for ordering messages of one id). */
  latest: Map<string, Operation>;
  /** The operation graphql-ws is handling for an id right now. */
  current: Map<string, Operation>;
  /** graphql-ws's handler of this socket's messages. */
  handle: (data: string) => Promise<void>;
  expiry: NodeJS.Timeout | null;
  closed: boolean;
}

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute(args: ExecutionArgs): unknown; subscribe(args: ExecutionArgs): unknown; shareKey: string };
};

/** A socket's message handler until graphql-ws sets its own (it does while the socket is opened). */
async function noHandler(_data: string): Promise<void> {}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The root field of a validated subscription (exactly one, by the rules of GraphQL), found through
 * inline fragments and fragment spreads.
 */
function rootField(document: ExecutionArgs['document'], operationName?: string | null): string | null {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const find = (set: SelectionSetNode | undefined, depth: number): string | null => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) return s.name.value;
      const inner = s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : fragments.get(s.name.value);
      const found = depth < 10 ? find(inner, depth + 1) : null;
      if (found) return found;
    }
    return null;
  };
  return find(getOperationAST(document, operationName)?.selectionSet, 0);
}

/**
 * A joiner's context has done its work once its checks ran: it acquired nothing (check-only), and
 * results reach its socket from the shared stream. graphql-ws would keep its execution arguments
 * (context, root value, variables) for the life of the subscription, only to hand them to an onNext
 * hook, which dawg does not set and a shared subscription never reaches (it yields nothing).
 */
function forgetJoinerContext(op: Operation, args: EnvelopedArgs) {
  op.context = null;
  const held = args as Partial<EnvelopedArgs>;
  held.contextValue = undefined;
  held.rootValue = undefined;
  held.variableValues = undefined;
}

function bearer(authorization: unknown): string | null {
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
  return match?.[1] ?? null;
}

export function attachGraphqlWs<Upgrade>(opts: {
  server: Server;
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: yoga's server/user context generics vary by caller
  yoga: YogaServerInstance<any, any>;
  tokens: TokenService;
  metrics: Metrics;
  log: Logger;
  keepAliveMs: number;
  trustProxy: TrustProxy;
  limits?: Partial<WsLimits>;
  /** Reads what operations need of a socket's upgrade request, once, when the socket connects. */
  describeUpgrade?: (request: IncomingMessage) => Upgrade;
}) {
  const { yoga, tokens, metrics, log } = opts;
  const limits: WsLimits = { ...DEFAULT_WS_LIMITS, ...opts.limits };
  const wss = new WebSocketServer({
    server: opts.server,
    path: opts.path,
    maxPayload: limits.maxPayloadBytes,
    // Never compressed (ws's default, stated): our whole frames must not land among ws's queued ones (text-frames.ts).
    perMessageDeflate: false,
    // Picks graphql-transport-ws among the offered subprotocols (graphql-ws's useServer does the same).
    handleProtocols,
  });
  const alive = new WeakMap<WebSocket, boolean>();
  const states = new Set<WsExtra>();
  const socketsPerUser = new Map<string, number>();
  // A shared stream's result is serialized once and written to each subscriber's socket as the
  // `next` message graphql-ws would send (transport/next-frames.ts), through the same `write` as every
  // other message: no per-subscriber iteration or JSON.stringify, and no delivery skips write's checks.
  // Results are written together (write-batch.ts); every other message writes what is queued first.
  const shared = new SharedSubscriptions<Operation, Buffer>(
    { prepare: nextPayload, deliver: (op, payload) => writes.add(op.state, nextFrame(op.id, payload)) },
    (size) => metrics.wsSharedStreams.set(size),
  );
  /** The operation of graphql-ws's execution arguments, from onSubscribe until subscribe takes it. */
  const operationOf = new WeakMap<object, Operation>();
  // One error for every subscribe past the limit: building an error captures a stack, and a storm of
  // subscribes (issue 16, item 4: 10 sockets x 1,000) spent a fifth of its time on that.
  const tooManySubscriptions = new AppError(
    'RATE_LIMITED',
    `Too many subscriptions on this socket (at most ${limits.maxSubscriptions})`,
    { limit: limits.maxSubscriptions },
  );

  // Each socket is pinged once per keepAliveMs, a slice of the sockets at a time (rounds.ts).
  const heartbeat = new Rounds<WebSocket>(opts.keepAliveMs, (sockets) => {
    for (const socket of sockets) {
      if (!alive.get(socket)) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
    return undefined;
  });

  /** Ends a socket whose token no longer verifies (revoked, or expired before its timer fired). */
  function endRevoked(state: WsExtra, reason: string) {
    if (state.closed) return;
    log.debug({ userId: state.viewer?.id, reason }, 'graphql-ws socket closed: token no longer valid');
    releaseAll(state);
    closeSocket(state, WS_CLOSE.tokenExpired, reason.slice(0, 100));
  }

  /**
   * Rechecks each distinct token of a slice of the open sockets; a refused one ends all its sockets.
   * Every socket's token is rechecked once per tokenCheckMs, a slice of the sockets at a time
   * (rounds.ts); TokenService.recheck reads a token shared by sockets of several slices at most
   * every RECHECK_MS. The slice's checks start in one turn, so they are read together.
   */
  function sweepTokens(slice: ReadonlySet<WsExtra>) {
    const open = [...slice].filter((state) => state.grant && !state.closed);
    const byToken = groupBy(open, (state) => state.grant as VerifiedToken);
    return Promise.all(
      [...byToken].map(async ([grant, sockets]) => {
        const result = await tokens.recheck(grant).catch((err) => {
          // Neither Redis nor PostgreSQL answered: keep the socket, the next sweep tries again.
          log.debug({ err }, 'graphql-ws token check failed');
          return null;
        });
        if (result) for (const state of sockets) endRevoked(state, result.error);
      }),
    );
  }
  const tokenSweep = new Rounds<WsExtra>(limits.tokenCheckMs, sweepTokens);

  /**
   * Sends one of graphql-ws's own messages now (an ack, a result of a stream not shared, a complete),
   * after the shared streams' results queued before it (write-batch.ts), so a socket's messages keep
   * the order they were sent in. `closeSocket` does the same before it closes a socket.
   */
  function send(state: WsExtra, message: string) {
    writes.flush();
    write(state, textFrame(message));
  }

  /**
   * Writes one message now, a whole text frame, in one write to the socket's connection
   * (text-frames.ts). Not waiting for the write callback: a slow reader's backlog then sits in
   * one place, ws's buffer, which is bounded here (WS_MAX_BUFFERED_BYTES), instead of in every
   * stream's queue. A socket past the bound is closed (4408) and its subscriptions released.
   */
  function write(state: WsExtra, frame: Buffer) {
    const { socket } = state;
    // Open: ws has sent no close frame, and has not ended or destroyed the connection. (One destroyed
    // by someone else, the server's forced close at stop, is open until its 'close': that write is dropped.)
    if (socket.readyState !== WebSocket.OPEN) return;
    state.wire.write(frame);
    if (socket.bufferedAmount > limits.maxBufferedBytes) {
      log.debug({ buffered: socket.bufferedAmount }, 'graphql-ws send queue full');
      releaseAll(state);
      socket.close(WS_CLOSE.sendQueueFull, 'Send queue full');
      // The close frame sits behind the backlog; do not wait for a reader that is not reading.
      setTimeout(() => socket.terminate(), 1000).unref();
    }
  }

  const writes = new WriteBatch<WsExtra, Buffer>(write, (err) => log.error({ err }, 'graphql-ws write failed'));

  /** Closes a socket after writing what was sent to it before (a close frame goes out at once). */
  function closeSocket(state: WsExtra, code?: number, reason?: string) {
    writes.flush();
    state.socket.close(code, reason);
  }

  /** Returns every stream of the socket: their single `finally`s release the Redis subscriptions. */
  function releaseAll(state: WsExtra) {
    state.closed = true;
    if (state.expiry) clearTimeout(state.expiry);
    state.expiry = null;
    for (const op of state.operations) release(op);
  }

  function forgetViewer(state: WsExtra) {
    const userId = state.viewer?.id;
    if (!userId) return;
    state.viewer = undefined;
    const n = (socketsPerUser.get(userId) ?? 1) - 1;
    if (n > 0) socketsPerUser.set(userId, n);
    else socketsPerUser.delete(userId);
  }

  function armExpiry(state: WsExtra, expiresAt: number) {
    state.expiry = setTimeout(
      () => {
        if (Date.now() < expiresAt) return armExpiry(state, expiresAt);
        releaseAll(state);
        closeSocket(state, WS_CLOSE.tokenExpired, 'Token expired');
      },
      Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS),
    );
    // Not unref()'d on purpose: Node keeps one timer list per distinct delay, and deletes an emptied
    // list at clearTimeout only for ref'd timers. Unref'd, every closed socket's list (its delay is
    // unique) stayed until that delay passed: the heap grew with socket churn (issue 16, item 6).
    // Every timer is cleared when its socket closes and when the server stops.
  }

  // No onNext hook or jsonMessageReplacer here: a shared stream's results are written without them.
  const protocol = makeServer<Record<string, unknown> | undefined, WsExtra>({
    connectionInitWaitTimeout: limits.initTimeoutMs,
    onConnect: async (ctx) => {
      const state = ctx.extra;
      // GraphiQL sends its header editor's "Authorization"; clients usually "authorization".
      const params = ctx.connectionParams ?? {};
      const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
      const authorization = key ? params[key] : undefined;
      // graphql-ws keeps the parameters for the life of the socket, and nothing reads them again:
      // the token lives on as `grant`, not as the bearer string.
      (ctx as { connectionParams?: unknown }).connectionParams = undefined;
      const token = bearer(authorization);
      const held = token ? await tokens.hold(token) : null;
      if (!held || 'error' in held || state.closed) {
        metrics.wsRefused.inc();
        return false; // graphql-ws closes with 4403 Forbidden
      }
      const open = socketsPerUser.get(held.viewer.id) ?? 0;
      if (open >= limits.maxSocketsPerUser) {
        metrics.wsRefused.inc();
        closeSocket(state, WS_CLOSE.tooManySockets, 'Too many sockets for this user');
        return false;
      }
      const { viewer } = held;
      socketsPerUser.set(viewer.id, open + 1);
      state.viewer = viewer;
      state.grant = held;
      armExpiry(state, held.expiresAt);
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      const state = ctx.extra;
      const op = state.current.get(id);
      let open = 0;
      for (const o of state.operations) if (o.admitted && !o.completeRequested) open++;
      if (open >= limits.maxSubscriptions) return [tooManySubscriptions];
      if (op) op.admitted = true;
      // A token revoked since connection_init opens nothing more (a Redis read at most every RECHECK_MS).
      // After the per-socket count, which stays synchronous: subscribes are admitted in arrival order.
      const check = state.grant
        ? await tokens.recheck(state.grant).catch((err) => {
            // Neither Redis nor PostgreSQL answered: no revocation can be read now; the sweep retries it.
            log.debug({ err }, 'graphql-ws token check failed');
            return null;
          })
        : { error: 'Not authenticated' };
      if (check) {
        endRevoked(state, check.error);
        return [new AppError('UNAUTHENTICATED', check.error)];
      }
      // One literal, not the three fields then a copy with two more (src/with-fields.ts).
      const initial: WsInitialContext & { request: typeof UPGRADE_REQUEST; params: typeof payload } = {
        wsViewer: state.viewer as Viewer,
        clientIp: state.clientIp,
        upgrade: state.upgrade,
        request: UPGRADE_REQUEST,
        params: payload,
      };
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial);
      let document: ExecutionArgs['document'];
      try {
        document = parse(payload.query);
      } catch (err) {
        // A limit refusal (DEPTH_LIMIT_EXCEEDED, TOKEN_LIMIT_EXCEEDED) keeps its code.
        if (isGraphQLError(err) && errorCode(err)) return [err];
        const message = err instanceof Error ? err.message : 'Syntax error';
        return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
      }
      const errors = validate(schema, document);
      if (errors.length) return errors;
      metrics.wsSubscriptions.inc();
      if (op) op.field = rootField(document, payload.operationName);
      const contextValue = await contextFactory();
      if (op) {
        op.context = contextValue;
        // Completed, or its socket closed, while it was checked: it takes no Redis subscription.
        if (op.completeRequested || state.closed) releaseSubscription(contextValue).catch(() => {});
      }
      const args: EnvelopedArgs = {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue,
        rootValue: {
          execute,
          subscribe,
          shareKey: JSON.stringify([state.viewer?.id, payload.query, payload.operationName ?? null, payload.variables ?? null]),
        },
      };
      if (op) operationOf.set(args, op);
      log.trace({ id }, 'graphql-ws subscribe');
      return args;
    },
    execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
    subscribe: async (args) => {
      const { rootValue, contextValue } = args as EnvelopedArgs & { contextValue: object };
      // Taken, not read: the first subscriber's arguments live as long as the stream it shares.
      const op = operationOf.get(args);
      operationOf.delete(args);
      const key = rootValue.shareKey;
      // Without its operation (never: every subscribe is registered) nothing can be written for it.
      if (!op) return (await rootValue.subscribe(args)) as never;
      // An identical subscription is being set up: wait for it, then join it if it became shared. One
      // that failed (an error, a refusal) leaves the next waiter to try as a first subscriber itself.
      for (let first = shared.starting(key); first; first = shared.starting(key)) {
        if ((await first) === 'unshareable') return (await rootValue.subscribe(args)) as never;
      }
      if (shared.has(key)) {
        // Join the running stream, but only after this subscriber's own argument and access checks,
        // which run through envelop's subscribe: every plugin's onSubscribe (the rate limit counts it).
        checkOnly(contextValue);
        const checked = await rootValue.subscribe(args);
        if (!isAsyncIterable(checked)) return checked as never; // its own error
        await (checked as AsyncGenerator).return?.(undefined);
        // A joiner released meanwhile runs its own (empty) stream rather than attach.
        const joined = isShareable(contextValue) && !wasCancelled(contextValue) ? shared.attach(key, op) : null;
        if (joined) {
          forgetJoinerContext(op, args as EnvelopedArgs);
          return joined as never;
        }
        checkOnly(contextValue, false); // the stream ended meanwhile: run our own
      }
      const settle = shared.begin(key);
      let outcome: FirstOutcome = 'failed';
      try {
        const result = await rootValue.subscribe(args);
        if (!isAsyncIterable(result)) return result as never; // an error result
        // Released while it was set up, or since (its socket closed, the client completed it): its
        // stream ends at once, so it is not one to share (a waiter then tries as a first subscriber).
        if (wasCancelled(contextValue) || op.state.closed || op.completeRequested) return result as never;
        if (!isShareable(contextValue)) {
          outcome = 'unshareable';
          return result as never;
        }
        outcome = 'shared';
        // Another first (after a failed one) may have shared meanwhile: waiters join that one.
        if (shared.has(key)) return result as never;
        const subscription = shared.share(key, result, op, takeRelease(contextValue));
        if (!subscription) return result as never;
        // Its context now serves the shared stream, which holds it and owns its release.
        op.context = null;
        return subscription as never;
      } finally {
        settle(outcome);
      }
    },
    onOperation: (ctx, id, _payload, _args, result) => {
      const op = ctx.extra.current.get(id);
      if (!op) return;
      op.stream = isAsyncIterable(result) ? result : null;
      if (op.stream && op.field && !op.active) {
        op.active = true;
        metrics.wsActiveSubscriptions.inc({ field: op.field });
      }
      // The socket closed while this was set up: graphql-ws no longer tracks it.
      if (ctx.extra.closed) release(op);
      // The client completed it while it was set up (its complete waits for setUp, below): graphql-ws
      // forgets it now, so it returns the stream and sends nothing more for the id, not even a
      // `complete` the client would take for a later operation under the same id.
      else if (op.completeRequested) delete ctx.subscriptions[id];
      // graphql-ws stores the stream just after this hook returns; a `complete` waiting for this
      // operation is handed over after that (setImmediate runs once those microtasks are done).
      setImmediate(() => op.setUp.resolve());
    },
    onError: (_ctx, _id, _payload, errors) => {
      log.debug({ errors: errors.map((e) => e.message) }, 'graphql-ws operation error');
    },
  });

  /** A socket's message handling failed (a bug, not a client's mistake): it is closed with 1011. */
  function fail(state: WsExtra, err: unknown) {
    log.error({ err }, 'graphql-ws message handling failed');
    closeSocket(state, CloseCode.InternalServerError, 'Internal server error');
  }

  /** graphql-ws is done with `op` (or it never started): it is forgotten and its turn passes on. */
  function finish(op: Operation) {
    const { state } = op;
    if (op.active && op.field) metrics.wsActiveSubscriptions.dec({ field: op.field });
    op.active = false;
    op.setUp.resolve();
    op.finished.resolve();
    state.operations.delete(op);
    if (state.latest.get(op.id) === op) state.latest.delete(op.id);
    if (state.current.get(op.id) === op) state.current.delete(op.id);
  }

  /**
   * Hands `op`'s subscribe message to graphql-ws once the earlier operation of its id is gone, and
   * tracks it until graphql-ws is done with it.
   */
  function runInTurn(op: Operation, previous: Operation | undefined, message: string) {
    (previous ? previous.finished.promise : Promise.resolve())
      .then(() => {
        const { state } = op;
        op.waiting = false;
        // Completed (or the socket closed) before its turn: it never starts.
        if (state.closed || op.completeRequested) return;
        state.current.set(op.id, op);
        return state.handle(message);
      })
      .catch((err) => fail(op.state, err))
      .finally(() => finish(op));
  }

  /** One message from a socket: subscribe and complete are ordered per id, the rest go to graphql-ws. */
  function receive(state: WsExtra, data: string) {
    const { handle } = state;
    let message: { type?: unknown; id?: unknown } | null = null;
    try {
      message = JSON.parse(data);
    } catch {
      // graphql-ws answers it (4400)
    }
    const id = typeof message?.id === 'string' ? message.id : null;
    if (id === null || (message?.type !== 'subscribe' && message?.type !== 'complete')) {
      handle(data).catch((err) => fail(state, err));
      return;
    }
    const previous = state.latest.get(id);
    if (message.type === 'complete') {
      if (!previous) {
        handle(data).catch((err) => fail(state, err));
        return;
      }
      previous.completeRequested = true;
      // Still being set up: cancelled now, so it takes no Redis subscription it would only let go.
      if (previous.context && !previous.stream) releaseSubscription(previous.context).catch(() => {});
      previous.setUp.promise
        .then(() => {
          // graphql-ws forgets the id at once, then returns the stream; ours ends the Redis
          // subscription even if a wrapper of the stream would not pass return() on.
          const handled = handle(data);
          release(previous);
          return handled;
        })
        .catch((err) => fail(state, err));
      return;
    }
    // subscribe: an id still running (not completed) is a duplicate; graphql-ws closes with 4409.
    if (previous && !previous.completeRequested) {
      handle(data).catch((err) => fail(state, err));
      return;
    }
    let waiting = 0;
    let winding = 0;
    for (const o of state.operations) {
      if (o.waiting) waiting++;
      if (o.completeRequested) winding++;
    }
    // A completed operation stops counting against WS_MAX_SUBSCRIPTIONS at once, but its setup may
    // still run: subscribe + complete pairs under new ids would otherwise start setups unbounded.
    if (waiting >= limits.maxSubscriptions * 10 || winding >= limits.maxSubscriptions * 2) {
      // Operations pile up behind ids reused faster than they are set up: an abusive client.
      releaseAll(state);
      closeSocket(state, WS_CLOSE.tooManySockets, 'Too many operations');
      return;
    }
    const op: Operation = {
      id,
      state,
      completeRequested: false,
      admitted: false,
      waiting: !!previous,
      setUp: deferred(),
      finished: deferred(),
      stream: null,
      context: null,
      field: null,
      active: false,
    };
    state.operations.add(op);
    state.latest.set(id, op);
    runInTurn(op, previous, data);
  }

  function onPong(this: WebSocket) {
    alive.set(this, true);
  }

  // Frame errors (too big, bad opcode): ws closes the socket itself; without a listener they would throw.
  function onSocketError(err: Error) {
    log.debug({ err: err.message }, 'graphql-ws socket error');
  }

  // What a socket holds for its life is kept small (10,000 sockets on one process): shared
  // listeners, and the adapter's functions as methods (no per-socket name properties under tsx).
  wss.on('connection', (socket, request) => {
    metrics.wsConnections.inc();
    metrics.wsOpened.inc();
    alive.set(socket, true);
    heartbeat.add(socket);
    socket.on('pong', onPong);
    socket.on('error', onSocketError);

    const state: WsExtra = {
      socket,
      wire: request.socket,
      upgrade: opts.describeUpgrade?.(request),
      clientIp: clientIp(request, nodeHeaders(request), opts.trustProxy),
      grant: null,
      handle: noHandler,
      operations: new Set(),
      latest: new Map(),
      current: new Map(),
      expiry: null,
      closed: false,
    };
    states.add(state);
    tokenSweep.add(state);

    const onClosed = protocol.opened(
      {
        protocol: socket.protocol,
        send(data) {
          send(state, data);
        },
        close(code, reason) {
          closeSocket(state, code, reason);
        },
        onMessage(handle) {
          state.handle = handle;
        },
      },
      state,
    );

    socket.on('message', (raw) => receive(state, String(raw)));

    socket.once('close', (code, reason) => {
      metrics.wsConnections.dec();
      metrics.wsDisconnects.inc({ reason: wsCloseReason(code) });
      releaseAll(state);
      forgetViewer(state);
      states.delete(state);
      tokenSweep.delete(state);
      heartbeat.delete(socket);
      onClosed(code, String(reason)).catch((err) => log.debug({ err }, 'graphql-ws close handling failed'));
    });
  });

  return {
    wss,
    shared,
    /** Sockets and operations held now (for tests and leak checks). */
    stats: () => ({
      sockets: states.size,
      operations: [...states].reduce((n, s) => n + s.operations.size, 0),
      users: socketsPerUser.size,
      sharedStreams: shared.size,
    }),
    /**
     * After pub/sub was cut (Redis restarted, or failed over): events published meanwhile never
     * arrived, so every socket is closed with 1012 (service restart). Clients reconnect, through a
     * load balancer to any instance, and subscribe again: current state first, or chat replies from
     * fromIndex, so what was missed is replayed. Returns how many sockets were closed.
     */
    resync(): number {
      const n = states.size;
      for (const state of states) {
        releaseAll(state);
        closeSocket(state, WS_CLOSE.resync, 'Pub/sub reconnected: subscribe again to resume');
      }
      if (n) log.warn({ sockets: n }, 'pub/sub was interrupted; sockets closed so clients resubscribe and catch up');
      return n;
    },
    /** Releases every subscription, closes every socket with 1001 (going away) and stops the server. */
    async close(): Promise<void> {
      heartbeat.stop();
      tokenSweep.stop();
      for (const state of states) {
        releaseAll(state);
        closeSocket(state, 1001, 'Server shutting down');
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export { WebSocket };
