/**
 * The response cache: a query's result, kept per viewer, for the reads a chat app repeats most (the
 * conversation list with its messages, the viewer). A hit is given where the execution would run
 * (src/graphql/pipeline.ts), so every policy (limits, rate limits, the cost budget and the cost in
 * flight, metrics, tracing) runs for a hit as for a miss; only the execution is skipped.
 *
 * What may be cached: a query whose every field is read from the tables PostgreSQL reports writes
 * to (src/db/table-changes.ts: users, projects, project_members, conversations, messages), i.e. one
 * that selects only CACHEABLE_ROOT_FIELDS and CACHEABLE_TYPES. A field of any other type (a
 * generation's progress, a project's tracks, signed links) makes the whole query pass through.
 *
 * When it is stale: never after a write is reported. An entry holds the epoch it was made in, and any
 * committed write to those tables, by any process, moves the epoch; a mutation on this process moves
 * it at once (its viewer's next request must see what it wrote). Not cached: results with errors,
 * results read from a replica (which may lag behind what was reported), anything while the
 * notifications are down. Entries also expire after a TTL, and the cache is bounded in bytes.
 */
import {
  type DocumentNode,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isLeafType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { TableChanges } from '../db/table-changes.js';
import type { Context } from './context.js';

/** Types whose every field is read from the watched tables. */
const CACHEABLE_TYPES = new Set([
  'Conversation',
  'ConversationConnection',
  'ConversationEdge',
  'Message',
  'MessageConnection',
  'MessageEdge',
  'MessageEntities',
  'PageInfo',
  'User',
]);
/** Query fields that answer with those types only. */
const CACHEABLE_ROOT_FIELDS = new Set(['conversation', 'conversations', 'me']);

export type CacheOutcome = 'hit' | 'miss' | 'pass';

export interface ResponseCacheOptions {
  changes: TableChanges;
  /** Entries kept at most; 0 turns the cache off. */
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  schema: GraphQLSchema;
  /** Each query's outcome, for dawg_graphql_response_cache_total. */
  counted?: (outcome: CacheOutcome) => void;
}

interface Entry {
  epoch: number;
  data: unknown;
}

/** What an execution returns, as far as answering it goes. */
interface Answer {
  data?: unknown;
  errors?: unknown;
  extensions?: unknown;
}

/** Whether the operation reads only what the cache can tell is unchanged. */
export function cacheableOperation(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return false;
  const typeInfo = new TypeInfo(schema);
  const queryType = schema.getQueryType();
  let ok = true;
  // Fragments are visited wherever they are defined: one that reads something else makes the
  // document pass through even if this operation does not spread it (rare, and on the safe side).
  const others = document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation);
  visit(
    { ...document, definitions: others },
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === '__typename') return;
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        const allowed =
          parent && field && (parent === queryType ? CACHEABLE_ROOT_FIELDS.has(field.name) : CACHEABLE_TYPES.has(parent.name));
        const type = field && getNamedType(field.type);
        if (!allowed || !type || !(isLeafType(type) || CACHEABLE_TYPES.has(type.name))) {
          ok = false;
          return false;
        }
        return undefined;
      },
    }),
  );
  return ok;
}

export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  /**
   * Per parsed document (yoga parses each query string once): its key prefix and the variables it
   * declares, or null if not cacheable.
   */
  private readonly documents = new WeakMap<DocumentNode, Map<string, { prefix: string; names: string[] } | null>>();
  private nextDocument = 0;
  /**
   * Each cached data's JSON, made when it was kept (to size it): a hit's answer is that text, not
   * its serialization again (for a conversation page, most of a hit's cost). Weak: it goes with the data object.
   */
  private readonly texts = new WeakMap<object, string>();

  constructor(private readonly opts: ResponseCacheOptions) {
    this.entries = new LRUCache<string, Entry>({
      max: Math.max(1, opts.maxEntries),
      maxSize: opts.maxBytes,
      ttl: opts.ttlMs,
    });
  }

  get enabled(): boolean {
    return this.opts.maxEntries > 0;
  }

  /** The key of this operation for this viewer, or null when it is not to be cached. */
  keyOf(document: DocumentNode, operationName: string | null | undefined, variables: unknown, viewerId: string): string | null {
    let byName = this.documents.get(document);
    if (!byName) {
      byName = new Map();
      this.documents.set(document, byName);
    }
    const name = operationName ?? '';
    let entry = byName.get(name);
    if (entry === undefined) {
      const names = getOperationAST(document, operationName)?.variableDefinitions?.map((d) => d.variable.name.value) ?? [];
      entry = cacheableOperation(this.opts.schema, document, operationName)
        ? { prefix: `${this.nextDocument++}:${name}`, names }
        : null;
      byName.set(name, entry);
    }
    if (entry === null) return null;
    // Only the variables the operation declares: a client may send others (any size, any depth),
    // which the answer does not depend on. A value JSON cannot write (too deep) is not cached.
    const values = variables as Record<string, unknown> | null | undefined;
    try {
      // An omitted variable (its default) and an explicit null differ: only those given are written.
      const given = entry.names.filter((n) => values && n in values).map((n) => [n, values?.[n]]);
      return `${viewerId}\n${entry.prefix}\n${JSON.stringify(Object.fromEntries(given))}`;
    } catch {
      return null;
    }
  }

  /** The data cached for `key` in the current epoch. */
  get(key: string): unknown | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.epoch === this.opts.changes.epoch) return entry.data;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps `data` for `key` if nothing was written since `epoch`, when the execution began. */
  set(key: string, epoch: number, data: unknown): void {
    if (epoch !== this.opts.changes.epoch || !this.opts.changes.live) return;
    const text = JSON.stringify(data);
    // The data and its text, each about as large as the text.
    const bytes = key.length + 2 * text.length;
    if (bytes > this.opts.maxBytes / 8) return; // one huge answer must not evict everything else
    this.entries.set(key, { epoch, data }, { size: bytes });
    if (typeof data === 'object' && data !== null) this.texts.set(data, text);
  }

  /**
   * `result` as JSON, when it is a hit's answer as this cache gave it (its data only, the very object
   * cached): byte for byte JSON.stringify(result), without serializing it again. Undefined otherwise
   * (a miss, a pass, or a result a plugin added to).
   */
  answerText(result: Answer): string | undefined {
    const { data } = result;
    const text = typeof data === 'object' && data !== null ? this.texts.get(data) : undefined;
    if (text === undefined) return undefined;
    // Anything beside the data (errors, extensions, even undefined ones) is not this cache's answer.
    for (const key in result) if (key !== 'data') return undefined;
    return `{"data":${text}}`;
  }

  /** A write on this process: nothing cached before it may be served after it. */
  written(): void {
    this.opts.changes.bump();
  }

  count(outcome: CacheOutcome): void {
    this.opts.counted?.(outcome);
  }

  get live(): boolean {
    return this.opts.changes.live;
  }

  get epoch(): number {
    return this.opts.changes.epoch;
  }
}

/**
 * Answers a cacheable query from the cache, or executes and keeps it. The answer is looked up where
 * the execution would run (this plugin's execute function), so every policy runs for a cached answer
 * as for an execution: those that refuse in onExecute (limits, rate limits, the cost budget: before
 * this plugin, src/graphql/pipeline.ts) and those that wrap the execution (the caller's cost in flight,
 * the operation's span: after it, so their wrappers are outside this one). Only the execution is skipped.
 */
export function useResponseCache(cache: ResponseCache): Plugin<Context> {
  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => {
      if (!cache.enabled) return;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      if (operation === 'mutation') return { onExecuteDone: () => cache.written() };
      const ctx = args.contextValue as Context;
      const key =
        operation === 'query' && ctx.viewer && cache.live
          ? cache.keyOf(args.document, args.operationName, args.variableValues, ctx.viewer.id)
          : null;
      if (key === null) {
        cache.count('pass');
        return;
      }
      setExecuteFn(async (execArgs) => {
        const data = cache.get(key);
        if (data !== undefined) {
          cache.count('hit');
          return { data };
        }
        cache.count('miss');
        const epoch = cache.epoch;
        const result = await executeFn(execArgs);
        if ('data' in result && !result.errors?.length && result.data && !ctx.reads.usedReplica)
          cache.set(key, epoch, result.data);
        return result;
      });
    },
  };
}
