/**
 * A subscription's events run through a compiled plan of its selection (graphql-jit) instead of the
 * general executor.
 *
 * A subscription executes its selection once per event and subscriber. When nothing can be shared
 * (each socket a different viewer), that execution is most of a delivery's cost: graphql-tools'
 * executor builds a per-event execution context, collects the fields again and wraps each event in
 * three more async iterators. For 2,000 viewers at 10,000 deliveries/s that put the p99 at about
 * 240 ms; with the plan compiled once per document it was about 90 ms (docs/benchmarks.md, "The
 * unshared fan-out").
 *
 * Only the per-event execution changes:
 *  - every plugin's onSubscribe has run before this (limits, the HTTP refusal, rate limits, metrics,
 *    tracing), and a refusal among them never reaches it;
 *  - the subscribe resolver runs through graphql-js's createSourceEventStream (arguments coerced as
 *    the spec says, its errors returned as an error result), so access checks happen exactly as before;
 *  - each event runs the same field resolvers, with the same context (Pothos' scope checks, the access
 *    rules of nested relations), and its result passes through yoga's error masking like any other;
 *  - a document the compiler refuses executes each event with graphql-js's execute, which is what
 *    the spec's subscribe does (logged once per document).
 * GRAPHQL_COMPILED_SUBSCRIPTIONS=false leaves the plugin out: subscriptions then run on yoga's own
 * executor, as before it.
 * Plans are kept per document object (yoga's parse cache hands out one per distinct query), so one
 * lives as long as its document and costs nothing once no subscription uses it.
 */
import {
  BREAK,
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  Kind,
  visit,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Context } from './context.js';
import { withFields } from '../with-fields.js';

type Plan = (payload: unknown, args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

/** The spec's per-event execution: the selection, with the event as its root value. */
const generalPlan: Plan = (payload, args) => execute(withFields(args, { rootValue: payload }));

/**
 * graphql-jit writes a document's literal arguments into the code it generates as JSON, then turns
 * each string of the form `"__MAGIC_DATE__<uuid><text>"` into `new Date(<text>)` (its own marker for
 * a Date value, graphql-jit 0.8.9 `objectStringify`). A client's string literal holding that marker
 * would put its text into the generated function as code. A document with `__MAGIC_` in any string
 * literal (or name) is therefore never compiled: it runs on the general executor (test/unit/compiled-subscriptions.test.ts
 * shows the injection through graphql-jit itself, and its refusal here).
 */
const MARKER = '__MAGIC_';

function holdsMarker(document: DocumentNode): boolean {
  let found = false;
  // Strings, and names too (an enum value or an alias a scalar might turn into a string).
  visit(document, {
    enter(node) {
      if ((node.kind === Kind.STRING || node.kind === Kind.ENUM || node.kind === Kind.NAME) && node.value.includes(MARKER)) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The document's compiled plan, or why it is not compiled. */
export function compile(args: ExecutionArgs): CompiledQuery | string[] {
  if (holdsMarker(args.document)) return [`a string literal holds graphql-jit's marker ${MARKER}: not compiled`];
  try {
    const compiled = compileQuery(args.schema, args.document, args.operationName ?? undefined);
    return isCompiledQuery(compiled) ? compiled : (compiled.errors ?? []).map((e) => e.message);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Each event of `source` executed by the plan `planFor` gives at its first event (a stream that never
 * has one, such as a joiner's of a shared stream, compiles nothing). return() and throw() reach the
 * source (its release); an execution that throws (not a resolver's error, which is part of the
 * result) ends the source and fails the stream, as graphql-js's own mapping does.
 */
export function mapEvents(
  source: AsyncIterable<unknown>,
  planFor: (args: ExecutionArgs) => Plan,
  args: ExecutionArgs,
): AsyncIterableIterator<ExecutionResult> {
  const events = source[Symbol.asyncIterator]();
  let plan: Plan | null = null;
  const end = async () => {
    await events.return?.();
    return { value: undefined, done: true } as const;
  };
  // An execution that throws ends the source, then fails the stream.
  const fail = async (err: unknown): Promise<never> => {
    await events.return?.().catch(() => {});
    throw err;
  };
  const run = (event: IteratorResult<unknown>): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> => {
    if (event.done) return event;
    try {
      plan ??= planFor(args);
      const result = plan(event.value, args);
      // A plan whose resolvers all answer at once gives its result at once: no promise step for it.
      return isPromise(result) ? result.then((value) => ({ value, done: false }), fail) : { value: result, done: false };
    } catch (err) {
      return fail(err);
    }
  };
  // Plain promise steps rather than an async function: one step fewer per event and subscriber.
  const results: AsyncIterableIterator<ExecutionResult> = {
    next: () => {
      // A source whose next() throws at once fails the step, as the async function did.
      let event: Promise<IteratorResult<unknown>>;
      try {
        event = events.next();
      } catch (err) {
        return Promise.reject(err);
      }
      return event.then(run);
    },
    return: end,
    async throw(err) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}

/** Last in the pipeline: only subscriptions every policy admitted reach its subscribe. */
export function useCompiledSubscriptions(log: Logger, metrics: Metrics): Plugin<Context> {
  /** Plans per document, per operation name ('' for the only one). */
  const plans = new WeakMap<DocumentNode, Map<string, Plan>>();
  const planFor = (args: ExecutionArgs): Plan => {
    const name = args.operationName ?? '';
    let byName = plans.get(args.document);
    let plan = byName?.get(name);
    if (plan) return plan;
    const compiled = compile(args);
    if (!Array.isArray(compiled)) {
      const { query } = compiled;
      plan = (payload, { contextValue, variableValues }) => query(payload, contextValue, variableValues ?? {});
      metrics.subscriptionPlans.inc({ plan: 'compiled' });
    } else {
      log.warn({ errors: compiled }, 'subscription not compiled: its events run on the general executor');
      metrics.subscriptionPlans.inc({ plan: 'general' });
      plan = generalPlan;
    }
    if (!byName) {
      byName = new Map();
      plans.set(args.document, byName);
    }
    byName.set(name, plan);
    return plan;
  };
  // Subscribes as the spec does, then runs each event through the document's plan.
  const subscribe = async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream; // an error result: refused, not found, bad argument
    return mapEvents(stream, planFor, args);
  };
  return {
    onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribe as never),
  };
}
