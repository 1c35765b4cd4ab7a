import { builder } from '../../graphql/builder.js';
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
    description: 'Create an account. Password: 8 to 128 characters.',
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.auth.signUp(args),
  }),
  logIn: t.field({
    type: AuthPayloadRef,
    skipTypeScopes: true,
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.auth.logIn(args),
  }),
}));
