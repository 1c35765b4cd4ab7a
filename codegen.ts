import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations clients use, from the committed SDL.
 * `npm run codegen` writes them; `npm run codegen:check` (in npm test) fails when they are stale.
 * (A default export, unlike the rest of the code base: graphql-codegen requires it.)
 */
const clientConfig = {
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
};

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    // The operations the test suite's typed client uses.
    'test/generated/': { documents: ['test/operations/**/*.graphql'], preset: 'client', config: clientConfig },
    // The demo client's (npm run demo).
    'scripts/demo/generated/': { documents: ['scripts/demo/**/*.graphql'], preset: 'client', config: clientConfig },
  },
  ignoreNoDocuments: false,
  // ESM with explicit .js extensions, as the project's NodeNext resolution requires.
  emitLegacyCommonJSImports: false,
};

export default config;
