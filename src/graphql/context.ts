import type { Db } from '../db/client.js';
import type { OperationReads } from '../db/read-router.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';

import type { Viewer } from '../modules/auth/viewer.js';

export type { Viewer };

/** Per-operation context, the same over HTTP and graphql-ws. */
export interface Context {
  viewer: Viewer | null;
  /** Why a presented token was refused (expired, bad signature...), for the UNAUTHENTICATED message. */
  authError: string | null;
  /** The primary. */
  prisma: Db;
  /** Reads that tolerate lag (lists, history, usage) go through `reads.lagTolerant`: to a replica when they may. */
  reads: OperationReads;
  services: Services;
  log: Logger;
  /** The caller's address, for limits on anonymous requests. */
  clientIp: string | null;
  /** The base URL the caller reaches the api at, for signed file links (src/http/public-url.ts). */
  publicUrl: string;
  /** How the operation arrived: subscriptions are served over graphql-ws only (src/graphql/subscription-transport.ts). */
  transport: 'http' | 'ws';
}

/** The viewer on a field that scope-auth already guards with `loggedIn`. */
export function viewerOf(ctx: Context): Viewer {
  if (!ctx.viewer) throw new Error('viewerOf() on a field without the loggedIn scope');
  return ctx.viewer;
}

/** A signed link to a stored file, on the base URL the caller reaches the api at. */
export const fileUrl = (ctx: Context, key: string) => ctx.services.storage.signedUrl(key, { baseUrl: ctx.publicUrl });
