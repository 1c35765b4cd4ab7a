/** Pothos setup only: plugins, context, scalars. Types and fields live in src/modules. */
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { isAdmin } from '../access/rules.js';
import { AppError, unauthenticated } from '../errors.js';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import type { Context } from './context.js';
import { decodeGlobalId, encodeGlobalId } from './ids.js';
import { fieldComplexity } from './limits.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { loggedIn: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
  // The cost model only; the limit is checked once per operation by useOperationLimits (limits.ts),
  // not by wrapping every root resolver.
  complexity: { fieldComplexity, disabled: true },
  scopeAuth: {
    authScopes: (ctx) => ({ loggedIn: ctx.viewer !== null, admin: isAdmin(ctx.viewer) }),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer
        ? new AppError('FORBIDDEN', 'You are not allowed to do this')
        : unauthenticated(ctx.authError ?? 'You must be logged in'),
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    encodeGlobalID: (typename, id) => encodeGlobalId(typename, String(id)),
    decodeGlobalID: (globalID) => decodeGlobalId(globalID, 'id'),
    // Defined in ./node.ts: null, not an error, for any id the viewer cannot resolve.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

// Everything is protected by default; public fields opt out with `skipTypeScopes: true`.
builder.queryType({ authScopes: { loggedIn: true } });
builder.mutationType({ authScopes: { loggedIn: true } });
builder.subscriptionType({ authScopes: { loggedIn: true } });
