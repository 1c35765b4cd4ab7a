/**
 * Tells each operation's reads (src/db/read-router.ts) what the operation is: a query may read lists,
 * history and usage from a replica; a mutation reads the primary throughout and, once executed,
 * leaves its viewer a write mark before the result is sent, so their next request sees what it wrote
 * whichever api instance serves it. Subscriptions read the primary.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';

export function useReadRouting(): Plugin<Context> {
  return {
    onExecute: ({ args }) => {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const { reads } = args.contextValue as Context;
      if (operation === 'query') reads.allowReplica();
      if (operation !== 'mutation') return;
      return { onExecuteDone: () => reads.wrote() };
    },
  };
}
