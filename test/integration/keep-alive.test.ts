/**
 * HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection stays open that long (65 s by default,
 * above the 60 s of the proxies in front), and says so in Keep-Alive so clients free it first.
 * With Node's default of 5 s, a request sent on a connection the api was closing was reset
 * (bench:chat at 420/s, docs/benchmarks.md).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../helpers/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REQUEST = (host: string) => {
  const body = '{"query":"{ __typename }"}';
  return `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`;
};

/** One raw keep-alive connection: send a request, read the head of the answer, watch for close. */
async function open(url: string) {
  const { hostname, port, host } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let closedAt: number | null = null;
  socket.on('close', () => {
    closedAt = Date.now();
  });
  const ask = () =>
    new Promise<string>((resolve) => {
      socket.once('data', (d) => resolve(d.toString()));
      socket.write(REQUEST(host));
    });
  return { socket, ask, closedAt: () => closedAt };
}

let defaults: RunningApp;
let short: RunningApp;
beforeAll(async () => {
  [defaults, short] = await Promise.all([startApp(), startApp({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '1500' })]);
});
afterAll(async () => {
  await Promise.all([defaults.stop(), short.stop()]);
});

describe('HTTP keep-alive', () => {
  it('keeps an idle connection 65 s by default and says so', async () => {
    const c = await open(defaults.url);
    const head = await c.ask();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/\r\nKeep-Alive: timeout=65\r\n/i);
    c.socket.destroy();
  });

  it('reuses a connection idle for less than the timeout, and closes it after', async () => {
    const c = await open(short.url);
    expect(await c.ask()).toMatch(/Keep-Alive: timeout=1\r\n/i);
    await sleep(700);
    expect(c.closedAt()).toBeNull();
    expect(await c.ask()).toMatch(/^HTTP\/1\.1 200/);
    const idleFrom = Date.now();
    while (c.closedAt() === null && Date.now() - idleFrom < 5000) await sleep(50);
    const closedAfter = (c.closedAt() ?? Number.POSITIVE_INFINITY) - idleFrom;
    expect(closedAfter).toBeGreaterThanOrEqual(1000);
    expect(closedAfter).toBeLessThan(4000);
  });
});
