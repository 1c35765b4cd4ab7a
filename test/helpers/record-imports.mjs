// Loaded with `node --import` into a child process under test: every module it resolves is appended
// to the file named by RECORD_IMPORTS (one URL a line), so a test sees what the process loaded.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(process.env.RECORD_IMPORTS)}, resolved.url + '\\n');
  return resolved;
}`)}`,
);
