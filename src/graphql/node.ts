/**
 * `node(id:)` and `nodes(ids:)`, as the contract says: null for anything the viewer cannot see,
 * whatever the reason (another user's object, a deleted row, a malformed id, a type name that is
 * not a node), so none of those tells a caller more than another. Pothos's own fields throw on a
 * malformed id and on an unknown type name; the access rule is in each prismaNode's `findUnique`.
 */
import { resolveNodes } from '@pothos/plugin-relay';
import { type GraphQLResolveInfo, isObjectType } from 'graphql';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { parseGlobalId } from './ids.js';

function nodeIds(ids: readonly string[], info: GraphQLResolveInfo) {
  return ids.map((value) => {
    const decoded = parseGlobalId(value);
    const type = decoded && info.schema.getType(decoded.typename);
    const isNode = isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
    return isNode ? decoded : null;
  });
}

const load = (ids: readonly string[], ctx: Context, info: GraphQLResolveInfo) =>
  resolveNodes(builder, ctx, info, nodeIds(ids, info));

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx, info) => (await load([args.id], ctx, info))[0],
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_root, args, ctx, info) => load(args.ids, ctx, info),
  }),
}));
