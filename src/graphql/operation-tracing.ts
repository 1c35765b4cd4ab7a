/**
 * One span per GraphQL query or mutation (src/tracing.ts; a no-op when tracing is off), active while
 * it executes, so what it starts (a queued job, a storage read) joins its trace. Last in the
 * pipeline: the span covers the wait for the caller's cost in flight too.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { inSpan } from '../tracing.js';

export function useOperationTracing(): Plugin {
  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => {
      const op = getOperationAST(args.document, args.operationName);
      const type = op?.operation ?? 'unknown';
      // The client's operation name only as an attribute: span names stay a fixed set.
      const name = op?.name?.value?.slice(0, 100);
      setExecuteFn((execArgs) =>
        inSpan(`graphql.${type}`, async () => executeFn(execArgs), {
          attributes: { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
        }),
      );
    },
  };
}
