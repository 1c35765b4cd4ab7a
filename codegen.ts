import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations clients use, from the committed SDL.
 * `npm run codegen` writes them; `npm run codegen:check` (in npm test) fails when they are stale.
 * (A default export, unlike the rest of the code base: graphql-codegen requires it.)
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  generates: {
    'test/generated/': {
      preset: 'client',
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' } },
    },
  },
  ignoreNoDocuments: false,
  // ESM with explicit .js extensions, as the project's NodeNext resolution requires.
  emitLegacyCommonJSImports: false,
};

export default config;
