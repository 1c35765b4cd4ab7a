/**
 * docs/clients.md compiles: its `file=…` blocks are written out as a small frontend project, GraphQL
 * Code Generator runs with the doc's own codegen.ts against the committed schema, and `tsc --strict`
 * type-checks the result (urql, Apollo Client, graphql-ws as installed here).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';

// Inside node_modules/.cache so the snippets resolve packages from the project's node_modules.
const DIR = resolve('node_modules/.cache/dawg-clients-doc');

function blocks(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of markdown.matchAll(/```ts file=(\S+)\n([\s\S]*?)```/g)) files.set(m[1] as string, m[2] as string);
  return files;
}

describe('docs/clients.md', () => {
  it('has snippets for codegen, urql, Apollo and chat reconnects that compile against the schema', async () => {
    const files = blocks(readFileSync('docs/clients.md', 'utf8'));
    expect([...files.keys()].sort()).toEqual([
      'codegen.ts',
      'src/apollo.ts',
      'src/chat.ts',
      'src/operations.ts',
      'src/session.ts',
      'src/urql.ts',
    ]);
    rmSync(DIR, { recursive: true, force: true });
    for (const [name, text] of files) {
      mkdirSync(dirname(join(DIR, name)), { recursive: true });
      writeFileSync(join(DIR, name), text);
    }
    // The doc's codegen config, with its paths taken relative to the snippet project.
    const { default: config } = await import(join(DIR, 'codegen.ts'));
    const cwd = process.cwd();
    process.chdir(DIR);
    try {
      writeFileSync('schema.graphql', readFileSync(join(cwd, 'schema/schema.graphql')));
      await generate({ ...config, silent: true }, true);
    } finally {
      process.chdir(cwd);
    }
    writeFileSync(
      join(DIR, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(DIR, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(DIR, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (err) {
      output = (err as { stdout?: string }).stdout ?? String(err);
    }
    expect(output).toBe('');
  }, 120_000);
});
