/**
 * `npm run schema:print` writes schema/schema.graphql from the Pothos schema;
 * `npm run schema:check` fails when the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printedSchema } from '../src/graphql/schema.js';

const path = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));
const sdl = printedSchema();
if (process.argv.includes('--check')) {
  const committed = await readFile(path, 'utf8').catch(() => '');
  if (committed !== sdl) {
    console.error('schema/schema.graphql is stale: run `npm run schema:print` and commit it');
    process.exit(1);
  }
  console.log('schema/schema.graphql is up to date');
} else {
  await writeFile(path, sdl);
  console.log(`wrote ${path}`);
}
