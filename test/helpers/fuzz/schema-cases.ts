/**
 * Cases derived from the schema: for every Query and Mutation field, each argument (and each field
 * of an input object) gets the hostile values of its type while the other arguments stay valid, plus
 * null, omission, an unknown argument, an anonymous and a foreign caller, and for mutations the
 * boundary values of BOUNDS. Values go inline or as variables (the seed picks).
 */
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  parse,
} from 'graphql';
import { schema as fuzzSchema } from '../../../src/graphql/schema.js';
import { costErrors } from '../../../src/graphql/limits.js';
import { BOUNDS, type Bound, validText } from './boundaries.js';
import { jsonValue, literal } from './literals.js';
import type { Random } from './random.js';
import { type Actor, expectAccepted, expectCodes, type FuzzCase, post } from './request.js';
import {
  breaks,
  type Hostile,
  hostileBooleans,
  hostileCursors,
  EnumValue,
  hostileEnums,
  hostileFloats,
  hostileIds,
  hostileInts,
  hostileStrings,
} from './values.js';

export const NODE_TYPES = ['Project', 'Conversation', 'Message', 'Generation', 'Track', 'User', 'Upload'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** One user's objects (global ids) and credentials. */
export interface Party {
  token: string;
  email: string;
  password: string;
  ids: Record<NodeType, string>;
  /** Generations by state: COMPLETED (BEAT), FAILED, PENDING. */
  completed: string;
  failed: string;
  pending: string;
  /** Objects the valid calls of destructive mutations may consume. */
  spare: { Project: string; Conversation: string; Track: string; pending: string };
}

export interface Fixtures {
  owner: Party;
  stranger: Party;
  /** A token for the fields that revoke the token they are called with. */
  revocableToken: string;
}

/** Fields that revoke the caller's token(s): called with Fixtures.revocableToken. */
const REVOKES_TOKEN = new Set(['logOut', 'logOutEverywhere']);

const OMIT = Symbol('omit');

/** The node type an ID argument names: projectId → Project; id → the type in the field's name. */
export function idTypeFor(field: string, arg: string): NodeType {
  const named = /^(.+?)Ids?$/.exec(arg)?.[1];
  const fromArg = NODE_TYPES.find((t) => t.toLowerCase() === named?.toLowerCase());
  return fromArg ?? NODE_TYPES.find((t) => field.toLowerCase().includes(t.toLowerCase())) ?? 'Project';
}

/** The viewer's id for an ID argument, in the state the field needs. */
function ownId(party: Party, field: string, type: NodeType, spare: boolean): string {
  if (type === 'Generation') {
    if (field === 'cancelGeneration') return spare ? party.spare.pending : party.pending;
    if (field === 'retryGeneration') return party.failed;
    return party.completed;
  }
  if (spare && (type === 'Project' || type === 'Conversation' || type === 'Track') && /^(delete|remove)/.test(field))
    return party.spare[type];
  return party.ids[type];
}

/**
 * Leaf fields, and objects below them to `depth` levels. Under an interface each implementation's
 * fields get an alias of their own (`Message_cost`), since two types may give one name two types.
 */
export function selectionFor(type: GraphQLOutputType | GraphQLNamedType, depth: number, alias = ''): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isInterfaceType(named) || isUnionType(named)) {
    const schemaTypes = (named as unknown as { _fuzzPossible?: GraphQLObjectType[] })._fuzzPossible ?? [];
    return `{ __typename ${schemaTypes.map((t) => `... on ${t.name} ${selectionFor(t, Math.max(1, depth - 1), t.name)}`).join(' ')} }`;
  }
  if (!isObjectType(named)) return '';
  const as = (f: string) => (alias ? `${alias}_${f}: ${f}` : f);
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const inner = getNamedType(f.type);
    if (isLeafType(inner)) parts.push(as(f.name));
    else if (depth > 1) parts.push(`${as(f.name)} ${selectionFor(f.type, depth - 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** Lets selectionFor expand interfaces into their implementations. */
export function indexPossibleTypes(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInterfaceType(type) || isUnionType(type))
      (type as unknown as { _fuzzPossible?: readonly GraphQLObjectType[] })._fuzzPossible = schema.getPossibleTypes(type);
  }
}

interface Assigned {
  name: string;
  type: GraphQLInputType;
  value: unknown;
}

function typeString(type: GraphQLInputType): string {
  return String(type);
}

/** One operation calling `field` with `args`; values inline or as variables. */
export function operation(
  kind: 'query' | 'mutation',
  field: GraphQLField<unknown, unknown>,
  args: Assigned[],
  inline: boolean,
  extra = '',
  operationName = 'Fuzz',
): { query: string; variables: Record<string, unknown> } {
  const sent = args.filter((a) => a.value !== OMIT);
  const variables: Record<string, unknown> = {};
  const defs: string[] = [];
  const list = sent.map((a, i) => {
    if (inline) return `${a.name}: ${literal(a.value)}`;
    defs.push(`$v${i}: ${typeString(a.type)}`);
    variables[`v${i}`] = jsonValue(a.value);
    return `${a.name}: $v${i}`;
  });
  if (extra) list.push(extra);
  const call = list.length ? `${field.name}(${list.join(', ')})` : field.name;
  const head = defs.length ? `${kind} ${operationName}(${defs.join(', ')})` : `${kind} ${operationName}`;
  // Two levels of the result, or one when two would cost more than the api's default limit (a
  // project with its tracks, members and conversations): the fuzzer tries arguments, not the cost rule.
  const deep = `${head} { ${call} ${selectionFor(field.type, 2)} }`;
  const query = withinCost(deep, variables) ? deep : `${head} { ${call} ${selectionFor(field.type, 1)} }`;
  return { query, variables };
}

const DEFAULT_MAX_COST = 1000;

function withinCost(query: string, variables: Record<string, unknown>): boolean {
  try {
    return costErrors({ maxCost: DEFAULT_MAX_COST }, fuzzSchema, parse(query), variables, null, {}).length === 0;
  } catch {
    return true; // a document the api refuses anyway (the fuzzer's hostile values)
  }
}

interface Ctx {
  rng: Random;
  /** The share of hostile values sent per argument (seeded pick); boundaries and the rest always go. */
  share: number;
  fx: Fixtures;
  cases: FuzzCase[];
  next: number;
}

function add(ctx: Ctx, c: Omit<FuzzCase, 'id'> & { id?: number }): void {
  ctx.cases.push({ ...c, id: c.id ?? ctx.next++ } as FuzzCase);
}

const tokenOf = (fx: Fixtures, actor: Actor, field?: string): Record<string, string> => {
  if (actor === 'anon') return {};
  if (field && REVOKES_TOKEN.has(field)) return { authorization: `Bearer ${fx.revocableToken}` };
  return { authorization: `Bearer ${(actor === 'owner' ? fx.owner : fx.stranger).token}` };
};

/** A valid value of an argument or input field; `tag` makes created rows traceable to their case. */
function baseline(
  ctx: Ctx,
  coord: string,
  fieldName: string,
  argName: string,
  type: GraphQLInputType,
  tag: string,
  spare: boolean,
): unknown {
  const named = getNamedType(type);
  const bound = BOUNDS[coord];
  const party = ctx.fx.owner;
  if (named.name === 'ID') {
    const t = idTypeFor(fieldName, argName);
    const id = ownId(party, fieldName, t, spare);
    return isListType(getNullableType(type)) ? [id] : id;
  }
  if (fieldName === 'logIn') return argName === 'email' ? party.email : party.password;
  if (bound?.kind === 'text' || bound?.kind === 'free') return validText(bound, Math.min(bound.max, 40), tag);
  if (bound?.kind === 'int' || bound?.kind === 'float') {
    if (coord.endsWith('.seed')) return 1;
    if (coord.endsWith('.durationSec')) return 30;
    if (coord.endsWith('.bpm')) return 120;
    return Math.min(bound.max, Math.max(bound.min, bound.kind === 'float' && bound.max < 0 ? -14 : 0));
  }
  if (isInputObjectType(named)) {
    const obj: Record<string, unknown> = {};
    for (const f of Object.values(named.getFields()))
      obj[f.name] = baseline(ctx, `${named.name}.${f.name}`, fieldName, f.name, f.type, tag, spare);
    return obj;
  }
  if (named.name === 'Int') return argName === 'first' || argName === 'last' ? 5 : 0;
  if (named.name === 'Boolean') return false;
  // A required enum (a member's role) gets its last value: the least a caller can ask for.
  if (isEnumType(named)) return isNonNullType(type) ? new EnumValue(named.getValues().at(-1)?.name ?? '') : OMIT;
  return OMIT;
}

/** The second of two arguments a field takes one of (its source: a generation or an upload): left out of the baseline. */
const ALTERNATIVE_ARGS = new Set(['Mutation.addTrack.uploadId', 'Mutation.masterTrack.uploadId']);

/** Whether a field's baseline call includes an optional argument. */
function keepsOptional(coord: string, type: GraphQLInputType): boolean {
  if (ALTERNATIVE_ARGS.has(coord)) return false;
  return !!BOUNDS[coord] || getNamedType(type).name === 'ID' || isInputObjectType(getNamedType(type)) || coord.endsWith('.first');
}

function baselineArgs(ctx: Ctx, root: string, field: GraphQLField<unknown, unknown>, tag: string, spare = false): Assigned[] {
  return field.args.map((a: GraphQLArgument) => {
    const coord = `${root}.${field.name}.${a.name}`;
    const keep = isNonNullType(a.type) || keepsOptional(coord, a.type);
    return { name: a.name, type: a.type, value: keep ? baseline(ctx, coord, field.name, a.name, a.type, tag, spare) : OMIT };
  });
}

function hostileFor(ctx: Ctx, fieldName: string, argName: string, type: GraphQLInputType): Hostile[] {
  const named = getNamedType(type);
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const t = idTypeFor(fieldName, argName);
    const pool = idPool(ctx.fx, t, fieldName);
    const many = (n: number) => Array.from({ length: n }, () => Buffer.from(`${t}:${ctx.rng.uuid()}`).toString('base64'));
    return [
      { label: 'empty list', value: [] },
      { label: 'mixed own, foreign, missing, malformed', value: [pool.own, pool.foreign, many(1)[0], '!!', ''] },
      { label: '1,000 ids', value: many(1000) },
      { label: '10,000 ids', value: many(10_000) },
      { label: 'the same id 5,000 times', value: Array(5000).fill(pool.own) },
      { label: 'null element', value: [null], wrongType: true },
      { label: 'nested list', value: [[pool.own]], wrongType: true },
      ...hostileIds(pool, ctx.rng).map((h) => ({ ...h, label: `[${h.label}]`, value: [h.value] })),
    ];
  }
  if (named.name === 'ID') return hostileIds(idPool(ctx.fx, idTypeFor(fieldName, argName), fieldName), ctx.rng);
  if (named.name === 'Int') return hostileInts();
  if (named.name === 'Float') return hostileFloats();
  if (named.name === 'String' && (argName === 'after' || argName === 'before'))
    return [...hostileCursors(ctx.rng), ...hostileStrings(ctx.rng)];
  if (named.name === 'String') return hostileStrings(ctx.rng);
  if (named.name === 'Boolean') return hostileBooleans();
  if (isEnumType(named)) return hostileEnums(named.getValues().map((v) => v.name));
  return [];
}

export function idPool(fx: Fixtures, type: NodeType, field = '') {
  const otherType = type === 'Conversation' ? 'Project' : 'Conversation';
  // Another spelling of the owner's id may be accepted: for a field that deletes, it must name a
  // spare object, or the other cases would find the owner's main one gone (order-dependent NOT_FOUND).
  const own =
    /^(delete|remove)/.test(field) && (type === 'Project' || type === 'Conversation' || type === 'Track')
      ? fx.owner.spare[type]
      : fx.owner.ids[type];
  return { own, foreign: fx.stranger.ids[type], otherType: fx.owner.ids[otherType], typename: type };
}

/** Whether the server must refuse `value` for this argument (undefined: it may be valid). */
function mustRefuse(coord: string, type: GraphQLInputType, h: Hostile): boolean | undefined {
  if (h.wrongType) return true;
  if (h.mayBeValid) return undefined;
  if (h.value === null || h.value === OMIT) return isNonNullType(type) ? true : undefined;
  if (getNamedType(type).name === 'ID') return true;
  return breaks(BOUNDS[coord], h.value);
}

/** Every case for one root field. */
function fieldCases(ctx: Ctx, root: 'Query' | 'Mutation', field: GraphQLField<unknown, unknown>): void {
  const kind = root === 'Query' ? 'query' : 'mutation';
  const target = `${root}.${field.name}`;
  // Fields whose valid email must also name an account (one the fuzzer cannot make at every length).
  const needsAccount = field.name === 'logIn' || field.name === 'addProjectMember';
  // Anonymous logIn and signUp are allowed; a query writes nothing, nor does naming no account.
  const emit = (
    group: string,
    argLabel: string,
    args: Assigned[],
    refuse: boolean | undefined,
    actor: Actor = 'owner',
    extra = '',
    expect?: FuzzCase['expect'],
    id?: number,
    inlineOnly = false,
  ) => {
    const inline = ctx.rng.bool() || inlineOnly;
    const op = operation(kind, field, args, inline, extra);
    const writesNothing = root === 'Query' || needsAccount || refuse === true;
    add(ctx, {
      id,
      group,
      target: `${target}(${argLabel})`,
      actor,
      writes: writesNothing ? 'none' : 'allowed',
      request: post(op, tokenOf(ctx.fx, actor, field.name)),
      expect,
      lane: field.name === 'logIn' || field.name === 'signUp' ? 'password hashing' : undefined,
    });
  };

  // Valid calls, as the owner (may write), anonymous and as another user (must write nothing).
  {
    const id = ctx.next++;
    emit('valid call', 'baseline', baselineArgs(ctx, root, field, `fuzz#${id}`, true), undefined, 'owner', '', undefined, id);
  }
  const anonymousRefused = !['signUp', 'logIn'].includes(field.name);
  {
    const id = ctx.next++;
    const args = baselineArgs(ctx, root, field, `fuzz#${id}`);
    emit('anonymous caller', 'baseline', args, anonymousRefused || undefined, 'anon', '', undefined, id);
  }
  if (field.args.some((a) => getNamedType(a.type).name === 'ID' || isInputObjectType(getNamedType(a.type)))) {
    const id = ctx.next++;
    const args = baselineArgs(ctx, root, field, `fuzz#${id}`);
    const hasOwnedId = args.some((a) => getNamedType(a.type).name === 'ID' || (a.value as { projectId?: string })?.projectId);
    emit("another user's objects", 'baseline', args, hasOwnedId || undefined, 'stranger', '', undefined, id);
  }
  {
    const id = ctx.next++;
    emit(
      'unknown argument',
      'fuzzExtra',
      baselineArgs(ctx, root, field, `fuzz#${id}`),
      true,
      'owner',
      'fuzzExtra: 1',
      undefined,
      id,
    );
  }

  for (const arg of field.args) {
    const coord = `${target}.${arg.name}`;
    const named = getNamedType(arg.type);
    // `before` pages backwards: with `last`, not the baseline's `first` (refused before the cursor is read).
    const withArg = (value: unknown, tag: string): Assigned[] =>
      baselineArgs(ctx, root, field, tag).map((a) =>
        a.name === arg.name
          ? { ...a, value }
          : arg.name === 'before' && a.name === 'first'
            ? { ...a, value: OMIT }
            : arg.name === 'before' && a.name === 'last'
              ? { ...a, value: 5 }
              : a,
      );

    // Null and omission.
    for (const [label, value] of [
      ['null', null],
      ['omitted', OMIT],
    ] as const) {
      const id = ctx.next++;
      emit(
        `${label} argument`,
        arg.name,
        withArg(value, `fuzz#${id}`),
        mustRefuse(coord, arg.type, { label, value }),
        'owner',
        '',
        undefined,
        id,
      );
    }

    if (isInputObjectType(named)) {
      const fields = Object.values(named.getFields());
      const structural: { label: string; make: (base: Record<string, unknown>) => unknown }[] = [
        ...fields
          .filter((f) => isNonNullType(f.type))
          .map((f) => ({
            label: `missing required ${named.name}.${f.name}`,
            make: (b: Record<string, unknown>) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== f.name)),
          })),
        { label: 'extra input field', make: (b) => ({ ...b, fuzzExtra: 1 }) },
        { label: '__proto__ input field', make: (b) => ({ ...b, __proto__: { bpm: 120 } }) },
        { label: 'list instead of object', make: (b) => [b] },
        { label: 'string instead of object', make: () => 'lofi 120' },
      ];
      for (const s of structural) {
        const id = ctx.next++;
        const base = baseline(ctx, coord, field.name, arg.name, arg.type, `fuzz#${id}`, false) as Record<string, unknown>;
        // `__proto__` only becomes a key through JSON text; a list is coerced to one object when it has one item.
        const value = s.label.startsWith('__proto__')
          ? JSON.parse(JSON.stringify(base).replace(/^\{/, '{"__proto__":{"bpm":120},'))
          : s.make(base);
        const refuse = true;
        emit(
          `input object: ${s.label.replace(/ [A-Z]\w+\.\w+$/, '')}`,
          `${arg.name}: ${s.label}`,
          withArg(value, `fuzz#${id}`),
          refuse,
          'owner',
          '',
          undefined,
          id,
        );
      }
      for (const f of fields) {
        const fcoord = `${named.name}.${f.name}`;
        const variants: Hostile[] = [
          { label: 'null', value: null },
          ...hostileFor(ctx, field.name, f.name, f.type),
          ...boundaryValues(BOUNDS[fcoord], `${fcoord}`),
        ];
        for (const h of variants) {
          if (!h.label.startsWith('boundary') && !h.always && ctx.rng.next() > ctx.share) continue;
          const id = ctx.next++;
          const base = baseline(ctx, coord, field.name, arg.name, arg.type, `fuzz#${id}`, false) as Record<string, unknown>;
          const value =
            typeof h.value === 'string' && h.label.startsWith('boundary') ? retag(BOUNDS[fcoord], h.value, id) : h.value;
          const refuse =
            h.value === null ? (isNonNullType(f.type) ? true : undefined) : mustRefuse(fcoord, f.type, { ...h, value });
          const expect = boundaryExpect(h, refuse, needsAccount);
          emit(
            groupOf(f.type, h),
            `${arg.name}.${f.name}=${h.label}`,
            withArg({ ...base, [f.name]: value }, `fuzz#${id}`),
            refuse,
            'owner',
            '',
            expect,
            id,
            h.inlineOnly,
          );
        }
      }
      continue;
    }

    const variants = [
      ...hostileFor(ctx, field.name, arg.name, arg.type),
      ...boundaryValues(root === 'Mutation' ? BOUNDS[coord] : undefined, coord),
    ];
    for (const h of variants) {
      if (!h.label.startsWith('boundary') && !h.always && ctx.rng.next() > ctx.share) continue;
      const id = ctx.next++;
      const value = typeof h.value === 'string' && h.label.startsWith('boundary') ? retag(BOUNDS[coord], h.value, id) : h.value;
      const refuse = mustRefuse(coord, arg.type, { ...h, value });
      const expect = boundaryExpect(h, refuse, needsAccount);
      emit(
        groupOf(arg.type, h),
        `${arg.name}=${h.label}`,
        withArg(value, `fuzz#${id}`),
        refuse,
        'owner',
        '',
        expect,
        id,
        h.inlineOnly,
      );
    }
  }
}

/** A valid boundary string carries its case's tag (same length), so a stored row names the case. */
function retag(bound: Bound | undefined, value: string, id: number): string {
  if (!bound || bound.kind === 'int' || bound.kind === 'float' || !value || /^x+$/.test(value)) return value;
  if (bound.kind === 'text' && (bound.format === 'key' || bound.format === 'genre')) return value;
  return validText(bound, value.length, `fuzz#${id}`);
}

function groupOf(type: GraphQLInputType, h: Hostile): string {
  if (h.label.startsWith('boundary')) return h.label.replace(/ \(.*\)$/, '');
  const named = getNamedType(type);
  const list = isListType(getNullableType(type)) ? 'list of ' : '';
  const kind = isEnumType(named) ? 'enum' : named.name;
  return `${list}${kind}: ${h.label.replace(/^\[(.*)\]$/, '$1')}`;
}

/** min-1, min, max, max+1 (lengths for text), labelled "boundary <valid|invalid>". */
function boundaryValues(bound: Bound | undefined, coord: string): Hostile[] {
  if (!bound) return [];
  const out: Hostile[] = [];
  const add = (value: unknown, note: string) =>
    out.push({ label: `boundary ${breaks(bound, value) ? 'invalid' : 'valid'} (${coord} ${note})`, value });
  if (bound.kind === 'int' || bound.kind === 'float') {
    const d = bound.kind === 'int' ? 1 : 0.01;
    add(bound.min - d, `${bound.min - d}`);
    add(bound.min, `${bound.min}`);
    add(bound.max, `${bound.max}`);
    add(bound.max + d, `${bound.max + d}`);
    return out;
  }
  if (bound.kind === 'text' && bound.format) {
    // Formats: a valid value at the longest allowed length where one exists, and one character over.
    if (bound.format === 'email') add(validText(bound, bound.max, 'fuzz'), `length ${bound.max}`);
    add(
      bound.format === 'email' ? validText(bound, bound.max + 1, 'fuzz') : 'x'.repeat(bound.max + 1),
      `length ${bound.max + 1}`,
    );
    return out;
  }
  for (const n of new Set([bound.min - 1, bound.min, bound.max, bound.max + 1])) {
    if (n < 0) continue;
    add(n === 0 ? '' : validText(bound, n, 'fuzz'), `length ${n}`);
  }
  return out;
}

function boundaryExpect(h: Hostile, refuse: boolean | undefined, needsAccount: boolean): FuzzCase['expect'] {
  if (!h.label.startsWith('boundary') || needsAccount) return undefined;
  // Past Int's 32 bits GraphQL itself refuses the document (GRAPHQL_VALIDATION_FAILED).
  return refuse ? expectCodes(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']) : expectAccepted;
}

/** All schema-derived cases, in a seeded order. */
export function schemaCases(schema: GraphQLSchema, fx: Fixtures, rng: Random, share = 1, firstId = 1): FuzzCase[] {
  indexPossibleTypes(schema);
  const ctx: Ctx = { rng, fx, share, cases: [], next: firstId };
  for (const root of ['Query', 'Mutation'] as const) {
    const type = root === 'Query' ? schema.getQueryType() : schema.getMutationType();
    for (const field of Object.values(type?.getFields() ?? {})) fieldCases(ctx, root, field);
  }
  return ctx.cases;
}

/** Int, Float and String arguments of mutations (and of their input objects) that BOUNDS lacks. */
export function unboundedMutationArgs(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const check = (coord: string, type: GraphQLInputType) => {
    const named = getNamedType(type);
    if (['Int', 'Float', 'String'].includes(named.name) && !BOUNDS[coord]) missing.push(coord);
    if (isInputObjectType(named)) for (const f of Object.values(named.getFields())) check(`${named.name}.${f.name}`, f.type);
  };
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {}))
    for (const a of field.args) check(`Mutation.${field.name}.${a.name}`, a.type);
  return missing;
}
