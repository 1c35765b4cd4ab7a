/**
 * Subscriptions are served over graphql-ws only. yoga would also serve them over HTTP as server-sent
 * events (GET or POST with `Accept: text/event-stream`), but every limit on live streams lives in the
 * graphql-ws transport: subscriptions per socket, sockets per user, a bounded send queue, and the
 * close when the token expires or is revoked (src/transport/graphql-ws.ts). An SSE stream would have
 * none of them, so it is refused before anything is acquired.
 */
import type { Plugin } from 'graphql-yoga';
import { AppError } from '../errors.js';
import type { Context } from './context.js';

export function useSubscriptionsOverWsOnly(): Plugin<Context> {
  return {
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      if (args.contextValue.transport === 'ws') return;
      setResultAndStopExecution({
        errors: [new AppError('BAD_REQUEST', 'Subscriptions are served over graphql-ws (WebSocket) on this path, not over HTTP')],
      });
    },
  };
}
