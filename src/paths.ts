/**
 * The package root (the directory of package.json), for files the processes read at run time:
 * prisma/ (migrations), node_modules/.cache (the GraphiQL build), the committed operations. Found by
 * walking up from this module, so it is the same from the sources (src/) and from the compiled
 * build (dist/src/).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package root. */
export const fromRoot = (...parts: string[]): string => join(ROOT, ...parts);
