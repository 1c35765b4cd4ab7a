/** Raw graphql-transport-ws sockets (no client library), for protocol abuse and leak tests. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { inject } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../../src/app.js';
import { sample, scrape } from './metrics.js';

export interface RawMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

export interface RawSocket {
  socket: WebSocket;
  messages: RawMessage[];
  /** Resolves with the close code. */
  closed: Promise<number>;
  send(message: unknown): void;
  /** Waits for a message matching `match` (already received or future). */
  next(match: (m: RawMessage) => boolean, timeoutMs?: number): Promise<RawMessage>;
}

export function rawSocket(wsUrl: string): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const messages: RawMessage[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.on('error', () => {});
  socket.on('message', (data) => {
    const m = JSON.parse(String(data)) as RawMessage;
    if (m.type === 'ping') socket.send('{"type":"pong"}');
    messages.push(m);
    for (const w of waiters) w();
  });
  const raw: RawSocket = {
    socket,
    messages,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (match, timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching message within ${timeoutMs} ms: ${JSON.stringify(messages.slice(-3))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** A socket past connection_ack. */
export async function initSocket(wsUrl: string, token: string): Promise<RawSocket> {
  const raw = await rawSocket(wsUrl);
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await raw.next((m) => m.type === 'connection_ack');
  return raw;
}

/** dawg_ws_active_subscriptions{field} of the api at `url`: subscriptions set up and streaming. */
export async function activeSubscriptions(url: string, field: string): Promise<number> {
  return sample(await scrape(url), 'dawg_ws_active_subscriptions', { field }) ?? Number.NaN;
}

/** An app-specific Redis prefix, so channel counts are not disturbed by other test files. */
export function isolatedPrefix(): string {
  return `${inject('redisPrefix')}${randomBytes(3).toString('hex')}:`;
}

/** Redis channels under `prefix` (as Redis counts them) and graphql-redis-subscriptions' own counts. */
export async function channelCounts(app: App, prefix: string) {
  const channels = (await app.redis.pubsub('CHANNELS', `${prefix}*`)) as string[];
  return { redisChannels: channels.length, ...app.services.pubsub.stats() };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** This process's resident set size in MB, after a full GC (for an api started in-process). */
export function ownRssMb(): number {
  gc();
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Another process's resident set size in MB (/proc: Linux, where the suite runs). */
export function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

/** Closes a raw socket (1000) and resolves once it is closed. */
export function closeSocket(s: RawSocket): Promise<number> {
  s.socket.close();
  return s.closed;
}
