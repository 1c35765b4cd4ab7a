import { byId } from '../../access/rules.js';
import { builder } from '../../graphql/builder.js';
import { RoleEnum } from '../../graphql/enums.js';
import { withFields } from '../../with-fields.js';

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('User', ctx.viewer, id),
  fields: (t) => ({
    email: t.exposeString('email'),
    role: t.expose('role', { type: RoleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    skipTypeScopes: true,
    description: 'The logged-in user, or null without a valid token.',
    resolve: (query, _root, _args, ctx) =>
      ctx.viewer ? ctx.prisma.user.findUnique(withFields(query, { where: { id: ctx.viewer.id } })) : null,
  }),
);
