import { defineConfig } from 'prisma/config';

// Used by the stock Prisma CLI (generate, and migrate/studio for users with the
// native engine). The app itself reads DATABASE_URL through src/config.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/dawg' },
});
