/**
 * The one GraphQL request pipeline. Every operation, whatever its transport, runs these envelop
 * plugins: yoga (POST, GET), the lean POST path (src/http/graphql-post.ts) and graphql-ws
 * (src/transport/graphql-ws.ts) all call yoga.getEnveloped() and its parse, validate,
 * contextFactory, execute and subscribe. HTTP-only policies (body limit, CSRF) run in the HTTP front
 * stage before either HTTP handler (src/http/front.ts).
 *
 * yoga's HTTP hooks (onRequest, onRequestParse, onParams, onResultProcess, onResponse) run only when
 * yoga itself handles an HTTP request, so a policy written as one would silently miss the lean
 * path and graphql-ws. `envelopOnly` refuses such a plugin at startup; the one exception is the
 * result finishing step, which the lean path runs itself (`finish`).
 */
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { type Limiter, useRateLimit } from '../rate-limit.js';
import type { Context } from './context.js';
import { useErrorCodes, useFinishErrors, useOperationMetrics } from './error-handling.js';
import { useCompiledSubscriptions } from './compiled-subscriptions.js';
import { useCostInFlight } from './cost-in-flight.js';
import { useOperationTracing } from './operation-tracing.js';
import { type OperationLimits, useCostBudget, useOperationLimits } from './limits.js';
import { useSubscriptionsOverWsOnly } from './subscription-transport.js';
import { useReadRouting } from './read-routing.js';
import { useRequestCacheRelease } from './request-caches.js';
import { type ResponseCache, useResponseCache } from './response-cache.js';

/** Hooks that envelop runs wherever getEnveloped() is used. */
const ENVELOP_HOOKS = new Set([
  'onPluginInit',
  'onEnveloped',
  'onSchemaChange',
  'onParse',
  'onValidate',
  'onContextBuilding',
  'onExecute',
  'onSubscribe',
]);

/** Returns `plugins`, or throws naming the first hook that only yoga's HTTP handler would run. */
// biome-ignore lint/suspicious/noExplicitAny: plugins of any context type
export function envelopOnly<P extends Plugin<any>>(plugins: P[]): P[] {
  for (const [i, plugin] of plugins.entries()) {
    for (const [hook, value] of Object.entries(plugin)) {
      if (typeof value === 'function' && !ENVELOP_HOOKS.has(hook)) {
        throw new Error(
          `GraphQL pipeline plugin #${i} uses ${hook}, which only yoga's own HTTP handler runs: the lean POST path and graphql-ws would skip it. Write the policy with envelop hooks (${[...ENVELOP_HOOKS].join(', ')}), or, if it is about HTTP only, in src/http/front.ts.`,
        );
      }
    }
  }
  return plugins;
}

export function createPipeline(deps: {
  schema: GraphQLSchema;
  limits: OperationLimits;
  metrics: Metrics;
  limiter: Limiter;
  costLimiter: Limiter;
  /** GRAPHQL_COST_IN_FLIGHT */
  costInFlight: number;
  /** GRAPHQL_COMPILED_SUBSCRIPTIONS */
  compiledSubscriptions: boolean;
  responseCache: ResponseCache;
  log: Logger;
}): Plugin<Context>[] {
  const policies = envelopOnly<Plugin<Context>>([
    // First: a refused operation does no other work (and costs no rate-limit point).
    useOperationLimits(deps.limits, deps.schema, deps.log) as Plugin<Context>,
    useSubscriptionsOverWsOnly(),
    useErrorCodes(deps.log) as Plugin<Context>,
    useOperationMetrics(deps.metrics) as Plugin<Context>,
    useRateLimit(deps.limiter) as Plugin<Context>,
    useCostBudget(deps.costLimiter) as Plugin<Context>,
    // After every policy that refuses, before those that wrap the execution: a cached answer is given
    // where the execution would run, inside their wrappers (the cost in flight, the span), and skips
    // only the execution.
    useResponseCache(deps.responseCache),
    // After every policy that refuses: only admitted operations wait for their caller's earlier ones.
    useCostInFlight(deps.costInFlight) as Plugin<Context>,
    // After it: the operation's span includes that wait.
    useOperationTracing() as Plugin<Context>,
    useReadRouting(),
    // Last: it replaces only how an admitted subscription's events are executed.
    ...(deps.compiledSubscriptions ? [useCompiledSubscriptions(deps.log, deps.metrics)] : []),
  ]);
  return [...policies, useRequestCacheRelease() as Plugin<Context>, useFinishErrors(deps.metrics) as Plugin<Context>];
}
