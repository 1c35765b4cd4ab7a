/**
 * A typed dawg client for Node: urql over HTTP for queries and mutations, graphql-ws for
 * subscriptions, the token sent as `Authorization` on both (connection_init for the socket).
 */
import { Client, type AnyVariables, type TypedDocumentNode, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { onEnd, pipe, subscribe } from 'wonka';
import WebSocket from 'ws';

export class DawgError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'DawgError';
  }
}

export interface DawgClient {
  request<R, V extends AnyVariables>(doc: TypedDocumentNode<R, V>, variables: V, kind?: 'query' | 'mutation'): Promise<R>;
  /** Feeds the events of a subscription to `onEvent` until it returns true; an early end is an error. */
  subscribe<R, V extends AnyVariables>(doc: TypedDocumentNode<R, V>, variables: V, onEvent: (data: R) => boolean): Promise<void>;
  close(): Promise<void>;
}

export function createDawgClient(url: string, getToken: () => string | null): DawgClient {
  const auth = (): Record<string, string> => {
    const token = getToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  // connectionParams is a function, so a reconnect after logging in again sends the new token.
  const ws = createWsClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    connectionParams: auth,
    retryAttempts: 5,
  });
  const client = new Client({
    url,
    exchanges: [
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
      fetchExchange,
    ],
    fetchOptions: () => ({ headers: auth() }),
    requestPolicy: 'network-only',
  });

  return {
    async request(doc, variables, kind = 'mutation') {
      const result = await (kind === 'query' ? client.query(doc, variables) : client.mutation(doc, variables)).toPromise();
      if (result.error) throw toDawgError(result.error);
      if (!result.data) throw new DawgError('the server returned no data', 'NO_DATA');
      return result.data;
    },
    subscribe(doc, variables, onEvent) {
      return new Promise((resolve, reject) => {
        let finished = false;
        const { unsubscribe } = pipe(
          client.subscription(doc, variables),
          onEnd(() => {
            // The server completed it (or the socket gave up) before the event we wait for.
            if (!finished) reject(new DawgError('the server ended the subscription early', 'SUBSCRIPTION_ENDED'));
          }),
          subscribe((result) => {
            if (finished) return;
            if (result.error) {
              finished = true;
              reject(toDawgError(result.error));
            } else if (result.data && onEvent(result.data) === true) {
              finished = true;
              resolve();
            } else return;
            queueMicrotask(() => unsubscribe());
          }),
        );
      });
    },
    close: async () => {
      await ws.dispose();
    },
  };
}

function toDawgError(error: {
  graphQLErrors: { message: string; extensions?: Record<string, unknown> }[];
  networkError?: Error;
}): DawgError {
  const first = error.graphQLErrors[0];
  if (first) return new DawgError(first.message, String(first.extensions?.code ?? 'GRAPHQL_ERROR'));
  const cause = (error.networkError as { cause?: { code?: string } } | undefined)?.cause?.code;
  return new DawgError(error.networkError?.message ?? 'network error', cause ?? 'NETWORK_ERROR');
}
