/**
 * GraphiQL served from this process: yoga's page, with its CDN script and
 * style URLs pointed at the same build unpacked on install
 * (scripts/fetch-graphiql.mjs). Without those files, yoga's CDN page is used.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GraphiQLOptions, renderGraphiQL } from 'graphql-yoga';

export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';
const ASSETS_DIR = fileURLToPath(new URL('../../node_modules/.cache/dawg-graphiql/', import.meta.url));
const CDN = /https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[\d.]+\/dist\//g;
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export const hasLocalGraphiql = (): boolean => existsSync(join(ASSETS_DIR, 'VERSION'));

/** yoga's `renderGraphiQL` option. */
export function renderLocalGraphiql(opts: GraphiQLOptions): string {
  const html = renderGraphiQL(opts);
  return hasLocalGraphiql() ? html.replace(CDN, GRAPHIQL_ASSETS_PATH) : html;
}

/** Serves the unpacked files under GRAPHIQL_ASSETS_PATH; false for other paths. */
export async function serveGraphiqlAsset(path: string, res: ServerResponse, _req?: IncomingMessage): Promise<boolean> {
  if (!path.startsWith(GRAPHIQL_ASSETS_PATH)) return false;
  const relative = path.slice(GRAPHIQL_ASSETS_PATH.length);
  // Only plain file names, optionally in monacoeditorwork/: no traversal.
  const parts = relative.split('/');
  const safe = parts.length <= 2 && parts.every((p) => p && p === basename(p) && !p.startsWith('.'));
  const type = TYPES[relative.slice(relative.lastIndexOf('.'))];
  const body = safe && type ? await readFile(join(ASSETS_DIR, ...parts)).catch(() => null) : null;
  if (!body) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return true;
  }
  res.writeHead(200, { 'content-type': type as string, 'cache-control': 'public, max-age=86400' }).end(body);
  return true;
}
