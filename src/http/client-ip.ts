/**
 * The caller's IP with Express's `trust proxy` semantics (proxy-addr): walk X-Forwarded-For from the
 * socket leftwards past trusted proxies and take the first address that is not one, i.e. the rightmost
 * untrusted hop. Hops left of it are written by the client and never believed.
 *
 * TRUST_PROXY (src/config.ts): `false` (the socket's address), a hop count (`1` = one load balancer in
 * front), or a list of proxy addresses, CIDRs and names (`loopback`, `linklocal`, `uniquelocal`).
 */
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/** TRUST_PROXY as parsed: false, a number of hops, or addresses / CIDRs / range names. */
export type TrustProxy = false | number | string[];

type TrustFn = (addr: string, i: number) => boolean;
const compiled = new Map<string, TrustFn>();

/** Throws a TypeError naming a bad entry (used by the config check too). */
export function compileTrust(trust: TrustProxy): TrustFn {
  const cacheKey = JSON.stringify(trust);
  let fn = compiled.get(cacheKey);
  if (!fn) {
    if (trust === false) fn = () => false;
    else if (typeof trust === 'number') fn = (_addr, i) => i < trust;
    else fn = proxyaddr.compile(trust);
    compiled.set(cacheKey, fn);
  }
  return fn;
}

export function clientIp(req: IncomingMessage | undefined, headers: Pick<Headers, 'get'>, trust: TrustProxy): string | null {
  const remote = req?.socket?.remoteAddress;
  if (!remote) return null;
  if (trust === false) return remote;
  const forwardedFor = headers.get('x-forwarded-for');
  if (!forwardedFor) return remote;
  // proxy-addr reads only these two fields; the lean POST path and graphql-ws pass Fetch-style headers.
  const shaped = {
    socket: { remoteAddress: remote },
    headers: { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
  return proxyaddr(shaped, compileTrust(trust));
}

/** Whether the immediate peer is a trusted proxy, so its forwarded headers (Host, proto) may be believed. */
export function fromTrustedProxy(req: IncomingMessage | undefined, trust: TrustProxy): boolean {
  const remote = req?.socket?.remoteAddress;
  return Boolean(remote) && trust !== false && compileTrust(trust)(remote as string, 0);
}
