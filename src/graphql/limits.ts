/**
 * Operation limits, all checked before any resolver runs, on every transport (they are envelop
 * hooks, which yoga, the lean POST path and graphql-ws all run):
 * - tokens: graphql-js's own parser limit, so a 5,000-deep fragment nest is a parse error rather
 *   than a stack overflow;
 * - depth, aliases, directives, field suggestions: graphql-armor's validation rules;
 * - cost: @pothos/plugin-complexity's rule, with the cost model below. It needs the request's
 *   variables (`first: $n`), so it runs when the operation starts (onExecute / onSubscribe) rather
 *   than in validation, whose result yoga caches by document.
 * Each refusal is a GraphQLError with its own `extensions.code` and no data.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { complexityFromQuery, createComplexityRule, type FieldComplexityValue } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type GraphQLError,
  type GraphQLField,
  GraphQLError as GraphQLErrorClass,
  type GraphQLSchema,
  getNamedType,
  isListType,
  isNonNullType,
  Kind,
  parse,
  type ValidationContext,
  validate,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, type ErrorCode, errorCode, rateLimited } from '../errors.js';
import type { Logger } from '../logger.js';
import { type Limiter, subjectOf } from '../rate-limit.js';

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
}

/** At most this many ids in one `nodes(ids:)`. */
export const MAX_NODE_IDS = 100;

import { PROJECT_MAX_MEMBERS, PROJECT_MAX_TRACKS } from '../modules/projects/project.rules.js';
import { MUTATION_COST, MUTATION_COSTS } from './costs.js';
/** A connection's multiplier when neither `first` nor `last` is given (the largest defaultSize). */
const DEFAULT_PAGE = 50;
/** A plain list's multiplier (stems of a beat: 4), unless its items have a bound of their own. */
const LIST_MULTIPLIER = 10;
/** Lists whose length is capped where they are written: the cap is their multiplier. */
const LIST_BOUNDS: Readonly<Record<string, number>> = { Track: PROJECT_MAX_TRACKS, ProjectMember: PROJECT_MAX_MEMBERS };

function isList(field: GraphQLField<unknown, unknown>): boolean {
  const type = isNonNullType(field.type) ? field.type.ofType : field.type;
  return isListType(type);
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, v) : undefined);

/**
 * The cost model (Pothos `fieldComplexity`): a field costs 1 and its selection is multiplied by how
 * many objects it can return. A connection multiplies by its page size (`first` or `last`), so nested
 * pages multiply; its `edges` list does not multiply again. `nodes(ids:)` multiplies by the ids given.
 */
export function fieldComplexity(
  args: Record<string, unknown>,
  _ctx: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: called for every field of the schema, whatever its context type
  field: GraphQLField<unknown, any>,
): FieldComplexityValue {
  if (mutationFields.has(field)) return { field: MUTATION_COSTS[field.name] ?? MUTATION_COST, multiplier: 1 };
  const named = getNamedType(field.type).name;
  if (named.endsWith('Connection') && ('first' in args || 'last' in args || field.args.some((a) => a.name === 'first'))) {
    return { field: 1, multiplier: count(args.first) ?? count(args.last) ?? DEFAULT_PAGE };
  }
  if (field.name === 'nodes' && Array.isArray(args.ids)) {
    if (args.ids.length > MAX_NODE_IDS)
      throw new AppError('BAD_USER_INPUT', `ids: at most ${MAX_NODE_IDS} ids`, { field: 'ids' });
    return { field: 1, multiplier: args.ids.length };
  }
  if (isList(field)) return { field: 1, multiplier: named.endsWith('Edge') ? 1 : (LIST_BOUNDS[named] ?? LIST_MULTIPLIER) };
  return 1;
}

/** The schema's Mutation fields, known to the cost model once useOperationLimits has seen the schema. */
const mutationFields = new WeakSet<object>();
function markMutationFields(schema: GraphQLSchema): void {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) mutationFields.add(field);
}

const limitError = (code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLErrorClass(message, { extensions: { ...extensions, code } });

/** graphql-armor reports through onReject: ours adds the code and reports instead of throwing. */
const reportAs = (code: ErrorCode, n: number) => ({
  n,
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, err: GraphQLError) =>
      ctx?.reportError(limitError(code, err.message.replace(/^Syntax Error: /, ''), { limit: n })),
  ],
});

/**
 * graphql-js parses recursively: about 2,000 nested `{`, `[` or `(` overflow its stack (and that of
 * recursive validation rules) below any token limit worth having. No real operation nests this deep.
 */
export const MAX_NESTING = 200;

/** True when brackets outside strings and comments nest deeper than `max`: one pass, no allocation. */
function tooDeep(source: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 123 || c === 91 || c === 40) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93 || c === 41) depth--;
    else if (c === 35) {
      // # comment to the end of the line
      while (i < source.length && source.charCodeAt(i) !== 10) i++;
    } else if (c === 34) {
      if (source.startsWith('"""', i)) {
        // """block string""", in which \""" is an escaped quote, not the end
        let end = source.indexOf('"""', i + 3);
        while (end > 0 && source.charCodeAt(end - 1) === 92) end = source.indexOf('"""', end + 3);
        if (end < 0) return false;
        i = end + 2;
      } else {
        // "string", with \ escapes
        for (i++; i < source.length && source.charCodeAt(i) !== 34; i++) if (source.charCodeAt(i) === 92) i++;
      }
    }
  }
  return false;
}

const TOO_MANY_TOKENS = /Document contains more th(?:an|at) \d+ tokens/;

const costs = new WeakMap<object, number>();
/**
 * The cost of the operation running with this context, once the limit has checked it: for limits
 * that should weigh operations by their work (a per-minute cost budget) rather than count them.
 */
export const operationCost = (context: object): number | undefined => costs.get(context);

/** The errors of one operation's cost check with its variables; none when within the limit. */
export function costErrors(
  limits: Pick<OperationLimits, 'maxCost'>,
  schema: GraphQLSchema,
  document: DocumentNode,
  variableValues: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  context: object,
): readonly GraphQLError[] {
  const overLimit = (complexity: number): GraphQLError | null => {
    costs.set(context, complexity);
    return complexity > limits.maxCost
      ? limitError('COST_LIMIT_EXCEEDED', `Operation cost ${complexity} exceeds the limit of ${limits.maxCost}`, {
          cost: complexity,
          limit: limits.maxCost,
        })
      : null;
  };
  // One operation (nearly every request): measured directly, ~5x cheaper than a validation pass.
  if (document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length === 1) {
    try {
      const error = overLimit(
        complexityFromQuery(document, { schema, ctx: context, variables: variableValues ?? {} }).complexity,
      );
      return error ? [error] : [];
    } catch (err) {
      if (errorCode(err)) return [err as GraphQLError];
      // Variables that do not coerce (wrong type, missing): the caller's mistake.
      if (err instanceof GraphQLErrorClass) return [withCode(err, 'BAD_USER_INPUT')];
      throw err;
    }
  }
  const rule = createComplexityRule({
    context,
    variableValues: variableValues ?? {},
    operationName: operationName ?? undefined,
    validate: ({ complexity }, report) => {
      const error = overLimit(complexity);
      if (error) report(error);
    },
  });
  try {
    // Variable errors found here are the caller's (wrong type, missing): BAD_USER_INPUT.
    return validate(schema, document, [rule]).map((e) => (errorCode(e) ? e : withCode(e, 'BAD_USER_INPUT')));
  } catch (err) {
    if (errorCode(err)) return [err as GraphQLError];
    throw err;
  }
}

function withCode(e: GraphQLError, code: ErrorCode): GraphQLError {
  return new GraphQLErrorClass(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    extensions: { ...e.extensions, code },
  });
}

/**
 * Spends each operation's cost (measured by useOperationLimits, which runs first) from the caller's
 * per-minute budget: many operations just under GRAPHQL_MAX_COST are RATE_LIMITED, not only huge ones.
 */
export function useCostBudget(limiter: Limiter): Plugin {
  const spend = async (contextValue: unknown): Promise<GraphQLError | null> => {
    const ctx = contextValue as Parameters<typeof subjectOf>[0];
    const result = await limiter.consume(subjectOf(ctx), Math.max(1, operationCost(ctx as object) ?? 1));
    return result.allowed ? null : rateLimited(result.retryAfter);
  };
  return {
    onExecute: async ({ args, setResultAndStopExecution }) => {
      const error = await spend(args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe: async ({ args, setResultAndStopExecution }) => {
      const error = await spend(args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

/** The envelop plugin: every limit above, in the phase where it can be checked. */
export function useOperationLimits(limits: OperationLimits, schema: GraphQLSchema, log?: Logger): Plugin {
  markMutationFields(schema);
  const armor = EnvelopArmorPlugin({
    maxDepth: reportAs('DEPTH_LIMIT_EXCEEDED', limits.maxDepth),
    maxAliases: reportAs('ALIAS_LIMIT_EXCEEDED', limits.maxAliases),
    maxDirectives: reportAs('DIRECTIVE_LIMIT_EXCEEDED', limits.maxDirectives),
    // No "Did you mean ...?": with introspection it tells nothing new, without it the schema leaks.
    blockFieldSuggestion: { mask: '' },
    // Ours instead: graphql-js's own token limit (no proxy on every lexer token), and a cost model
    // where connection pages multiply (Pothos, below).
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
  });
  const parseWithLimit = (source: Parameters<typeof parse>[0], options?: Parameters<typeof parse>[1]) => {
    if (tooDeep(typeof source === 'string' ? source : source.body, MAX_NESTING))
      throw limitError('DEPTH_LIMIT_EXCEEDED', `Document nested deeper than ${MAX_NESTING} brackets`, { limit: MAX_NESTING });
    try {
      return parse(source, { ...options, maxTokens: limits.maxTokens });
    } catch (err) {
      if (err instanceof Error && TOO_MANY_TOKENS.test(err.message))
        throw limitError('TOKEN_LIMIT_EXCEEDED', `Token limit of ${limits.maxTokens} exceeded`, { limit: limits.maxTokens });
      // Should tooDeep ever miss a way to hide brackets, the overflow is still the client's doing.
      if (err instanceof RangeError)
        throw limitError('DEPTH_LIMIT_EXCEEDED', `Document nested deeper than ${MAX_NESTING} brackets`, { limit: MAX_NESTING });
      throw err;
    }
  };
  const refused = (errors: readonly GraphQLError[]) => {
    log?.debug({ codes: errors.map(errorCode) }, errors[0]?.message ?? 'operation refused');
    return { errors };
  };
  const check = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
    contextValue: unknown;
  }) => costErrors(limits, args.schema, args.document, args.variableValues, args.operationName, args.contextValue as object);
  return {
    onPluginInit: ({ addPlugin }) => addPlugin(armor as Plugin),
    onParse: ({ setParseFn }) => setParseFn(parseWithLimit),
    onExecute: ({ args, setResultAndStopExecution }) => {
      const errors = check(args);
      if (errors.length) setResultAndStopExecution(refused(errors));
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const errors = check(args);
      if (errors.length) setResultAndStopExecution(refused(errors));
    },
  };
}
