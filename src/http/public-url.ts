/**
 * The base URL clients reach this api at, for the links it hands out (signed /files URLs of the
 * local storage driver). In order:
 * 1. PUBLIC_URL, when set;
 * 2. behind a trusted proxy, the request's X-Forwarded-Proto/-Host/-Port (Host when the proxy sends
 *    no X-Forwarded-Host): the address the client used;
 * 3. the address the server listens on: HOST (127.0.0.1 for a wildcard) and the port actually
 *    bound, so `PORT=4612` and PORT=0 give working links.
 * Without a trusted proxy the Host header is not used: any client could send one and have the links
 * it is given (or that a cache keeps) point at another server. As in Express (req.protocol,
 * req.hostname), "trusted" is about the immediate peer, and the first value of a list is used.
 */
import type { Config } from '../config.js';

/** http://host:port for a listening address; wildcards become 127.0.0.1, IPv6 gets brackets. */
export function listenUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

// A DNS name or bracketed IPv6 literal, with an optional port: nothing else may reach a link.
const HOST = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

/** The base URL a proxy says the client used, or null when its headers give no usable one. */
export function forwardedUrl(headers: Pick<Headers, 'get'>): string | null {
  // Each proxy appends to these lists; the first entry is what the client sent to the first proxy.
  const first = (name: string) => headers.get(name)?.split(',')[0]?.trim().toLowerCase() || undefined;
  const host = first('x-forwarded-host') ?? first('host');
  const match = host ? HOST.exec(host) : null;
  if (!host || !match) return null;
  const proto = first('x-forwarded-proto') ?? 'http';
  if (proto !== 'http' && proto !== 'https') return null;
  const port = first('x-forwarded-port');
  const defaultPort = proto === 'https' ? '443' : '80';
  const withPort = match[1] || !port || !/^\d{1,5}$/.test(port) || port === defaultPort ? host : `${host}:${port}`;
  return `${proto}://${withPort}`;
}

export class PublicUrl {
  private readonly configured: string | undefined;
  private listening: string;

  constructor(private readonly config: Pick<Config, 'PUBLIC_URL' | 'HOST' | 'PORT'>) {
    this.configured = config.PUBLIC_URL?.replace(/\/+$/, '');
    this.listening = listenUrl(config.HOST, config.PORT);
  }

  /** Called once the server listens: the port actually bound (PORT=0 picks one). */
  listen(port: number): void {
    this.listening = listenUrl(this.config.HOST, port);
  }

  /** The base URL without a request: PUBLIC_URL or the listening address. */
  get base(): string {
    return this.configured ?? this.listening;
  }

  /** The base URL for links in the answer to a request; `viaTrustedProxy` when its peer is a trusted proxy. */
  forRequest(headers: Pick<Headers, 'get'>, viaTrustedProxy: boolean): string {
    if (this.configured) return this.configured;
    return (viaTrustedProxy && forwardedUrl(headers)) || this.listening;
  }
}
