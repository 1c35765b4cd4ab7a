/**
 * Cost in flight per caller (issue 16, item 5): the queries of one user (or one IP when not logged in)
 * executing at once in this process may together cost at most GRAPHQL_COST_IN_FLIGHT; a query that
 * does not fit waits, in arrival order, for earlier ones to finish, and each one's cost stays held
 * for three times as long again as it ran (HOLD), so back-to-back heavy queries of one caller get at
 * most a quarter of the event loop (a hold under a millisecond, a cached answer's, ends after the
 * event loop's pending I/O instead: no timer waits less).
 *
 * Why: the per-minute cost budget bounds how much one caller may do in a minute, not how much at
 * once. Its 30 operations of ~1,000 each, sent over a few connections together, kept several heavy
 * executions (Prisma mapping and graphql-js execution, on the one event loop) interleaved with every
 * other user's request: their p99 rose 5-10x (test/load/heavy-reads.test.ts). With one maximal
 * query of a caller at a time, and a pause after it, others wait behind at most one such chunk of
 * work. Cheap queries (a page's parallel ones) still run side by side. Runs after the rate limit and
 * cost budget: refused operations do not queue. Per process: it guards this process's event loop.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type Caller, subjectOf } from '../rate-limit.js';
import { operationCost } from './limits.js';

/**
 * How long, in multiples of its run time, an operation's cost stays held after it finishes. At 1 the
 * victim's p99 in test/load/heavy-reads.test.ts went to 1.6-2.5x its quiet value (the api was 70-100%
 * busy: a heavy read's result still has to be serialized and written after its execution ends, and
 * the caller's refused requests cost something too); at 3 it stayed at 1.5-1.8x.
 */
export const HOLD = 3;

interface Gate {
  inFlight: number;
  waiting: { cost: number; start: () => void }[];
}

export function useCostInFlight(capacity: number): Plugin<Caller> {
  const gates = new Map<string, Gate>();
  // An operation costlier than the capacity still runs, alone.
  const fits = (gate: Gate, cost: number) => gate.inFlight === 0 || gate.inFlight + cost <= capacity;

  const acquire = (key: string, cost: number): Promise<void> | undefined => {
    let gate = gates.get(key);
    if (!gate) {
      gate = { inFlight: 0, waiting: [] };
      gates.set(key, gate);
    }
    if (gate.waiting.length === 0 && fits(gate, cost)) {
      gate.inFlight += cost;
      return undefined;
    }
    const g = gate;
    return new Promise((resolve) => g.waiting.push({ cost, start: resolve }));
  };

  const release = (key: string, cost: number) => {
    const gate = gates.get(key);
    if (!gate) return;
    gate.inFlight -= cost;
    for (let next = gate.waiting[0]; next && fits(gate, next.cost); next = gate.waiting[0]) {
      gate.waiting.shift();
      gate.inFlight += next.cost;
      next.start();
    }
    if (gate.inFlight === 0 && gate.waiting.length === 0) gates.delete(key);
  };

  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => {
      // Reads only: costly mutations (logIn, signUp, generateBeat...) have limits of their own, and
      // their work (password hashing, queued jobs) is not on this event loop.
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const key = subjectOf(args.contextValue);
      const cost = Math.max(1, operationCost(args.contextValue as object) ?? 1);
      setExecuteFn(async (execArgs) => {
        await acquire(key, cost);
        const started = performance.now();
        try {
          // A streamed result (@defer/@stream, not enabled) would be released at its first payload.
          return await executeFn(execArgs);
        } finally {
          // Held HOLD times as long again as the operation took: one caller's operations that fill
          // the capacity get at most 1 / (1 + HOLD) of the time, and other callers' work runs between.
          // A hold shorter than a timer can wait (a response cache hit) ends once pending I/O has had
          // its turn: a timer would hold it a whole millisecond, many times what the rule asks.
          const hold = HOLD * (performance.now() - started);
          if (hold < 1) setImmediate(() => release(key, cost));
          else setTimeout(() => release(key, cost), hold);
        }
      });
    },
  };
}
