/**
 * GraphiQL served from this process: yoga's page, with its CDN script and
 * style URLs pointed at the same build unpacked on install
 * (scripts/fetch-graphiql.mjs). Without those files, yoga's CDN page is used.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import { type GraphiQLOptions, renderGraphiQL } from 'graphql-yoga';
import { fromRoot } from '../paths.js';

export const GRAPHIQL_ASSETS_PATH = '/graphiql/assets/';
const ASSETS_DIR = fromRoot('node_modules', '.cache', 'dawg-graphiql');
const CDN = /https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[\d.]+\/dist\//g;
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export const hasLocalGraphiql = (): boolean => existsSync(join(ASSETS_DIR, 'VERSION'));

// yoga links its favicon from GitHub; offline (and under a strict CSP) that request fails, so use an inline one.
const REMOTE_FAVICON = /https:\/\/raw\.githubusercontent\.com\/[^"'\s>]*favicon\.ico/g;
const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#e10098"/></svg>',
)}`;

/** yoga's `renderGraphiQL` option. */
export function renderLocalGraphiql(opts: GraphiQLOptions): string {
  const html = renderGraphiQL(opts);
  return hasLocalGraphiql() ? html.replace(CDN, GRAPHIQL_ASSETS_PATH).replace(REMOTE_FAVICON, FAVICON) : html;
}

/**
 * GraphiQL sends the header editor's headers with HTTP requests but not over graphql-ws, where dawg
 * authenticates on connection_init. This one-expression change to the served build passes them as the
 * request's `connectionParams` too (graphql-tools' ws executor puts those in connection_init).
 */
const WS_HEADERS = /extensions:\{headers:([\w$]+)\?\.headers\}/;
export function patchGraphiqlBuild(source: string): string {
  return source.replace(WS_HEADERS, 'extensions:{headers:$1?.headers,connectionParams:$1?.headers}');
}
const patched = new Map<string, Buffer>();
async function readAsset(parts: string[]): Promise<Buffer | null> {
  const file = join(ASSETS_DIR, ...parts);
  if (!file.endsWith('yoga-graphiql.umd.js')) return readFile(file).catch(() => null);
  const cached = patched.get(file);
  if (cached) return cached;
  const source = await readFile(file, 'utf8').catch(() => null);
  if (source === null) return null;
  const body = Buffer.from(patchGraphiqlBuild(source));
  patched.set(file, body);
  return body;
}

/** Serves the unpacked files under GRAPHIQL_ASSETS_PATH; false for other paths. */
export async function serveGraphiqlAsset(path: string, res: ServerResponse, _req?: IncomingMessage): Promise<boolean> {
  if (!path.startsWith(GRAPHIQL_ASSETS_PATH)) return false;
  const relative = path.slice(GRAPHIQL_ASSETS_PATH.length);
  // Only plain file names, optionally in monacoeditorwork/: no traversal.
  const parts = relative.split('/');
  const safe = parts.length <= 2 && parts.every((p) => p && p === basename(p) && !p.startsWith('.'));
  const extension = relative.slice(relative.lastIndexOf('.'));
  const type = Object.hasOwn(TYPES, extension) ? TYPES[extension] : undefined;
  const body = safe && type ? await readAsset(parts) : null;
  if (!body) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return true;
  }
  res.writeHead(200, { 'content-type': type as string, 'cache-control': 'public, max-age=86400' }).end(body);
  return true;
}
