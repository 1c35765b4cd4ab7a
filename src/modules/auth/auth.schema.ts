import { builder } from '../../graphql/builder.js';
import { viewerOf } from '../../graphql/context.js';
import type { AuthPayload } from './auth.service.js';
import { UserRef } from '../users/user.schema.js';

const AuthPayloadRef = builder.objectRef<AuthPayload>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'A JWT for `Authorization: Bearer <token>`; expires in 24 hours.' }),
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
  }),
});

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayloadRef,
    skipTypeScopes: true,
    description:
      'Create an account. Password: 8 to 128 characters. An email already registered is BAD_USER_INPUT; calls are limited per client IP.',
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.auth.signUp(args, ctx.clientIp),
  }),
  logIn: t.field({
    type: AuthPayloadRef,
    skipTypeScopes: true,
    description: 'Attempts are limited per email and per client IP (RATE_LIMITED with retryAfter).',
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.auth.logIn(args, ctx.clientIp),
  }),
  logOut: t.boolean({
    description: 'Revokes the token this request was made with, on every api instance within a second.',
    resolve: (_root, _args, ctx) => ctx.services.auth.logOut(viewerOf(ctx)),
  }),
  logOutEverywhere: t.boolean({
    description: "Revokes every token of the viewer's account issued so far, on every api instance within a second.",
    resolve: (_root, _args, ctx) => ctx.services.auth.logOutEverywhere(viewerOf(ctx)),
  }),
}));
