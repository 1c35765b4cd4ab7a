/**
 * HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection stays open that long (65 s by default,
 * above the 60 s of the proxies in front), and says so in Keep-Alive so clients free it first. With
 * Node's default of 5 s, bench:chat at 420/s saw a request reset (docs/benchmarks.md). While the api
 * stops, a connection in use closes once its answer is sent, so it does not hold the stop.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../helpers/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BODY = '{"query":"{ __typename }"}';
const HEAD = (host: string) =>
  `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: keep-alive\r\n\r\n`;

/** One raw keep-alive connection: writes requests and reads whole answers (head and Content-Length body). */
async function open(url: string) {
  const { hostname, port, host } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let closedAt: number | null = null;
  let buffered = '';
  let waiting: { resolve: (head: string) => void; reject: (err: Error) => void } | null = null;
  const settle = () => {
    const end = buffered.indexOf('\r\n\r\n');
    if (!waiting || end < 0) return;
    const head = buffered.slice(0, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.slice(end + 4 + length);
    waiting.resolve(head);
    waiting = null;
  };
  socket.on('data', (d) => {
    buffered += d.toString();
    settle();
  });
  socket.on('close', () => {
    closedAt = Date.now();
    waiting?.reject(new Error('connection closed before the answer'));
  });
  /** The head of the next answer once it has all arrived; `write` sends (part of) a request. */
  const answer = () =>
    new Promise<string>((resolve, reject) => {
      waiting = { resolve, reject };
      settle();
    });
  const ask = (write = HEAD(host) + BODY) => {
    const next = answer();
    socket.write(write);
    return next;
  };
  return { socket, host, ask, answer, closedAt: () => closedAt };
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
  it('announces 65 s by default', async () => {
    const c = await open(defaults.url);
    const head = await c.ask();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/\r\nKeep-Alive: timeout=65(\r\n|$)/i);
    c.socket.destroy();
  });

  it('reuses a connection idle for less than the timeout, and closes it after', async () => {
    const c = await open(short.url);
    expect(await c.ask()).toMatch(/Keep-Alive: timeout=1(\r\n|$)/i);
    await sleep(700);
    expect(c.closedAt()).toBeNull();
    expect(await c.ask()).toMatch(/^HTTP\/1\.1 200/);
    const idleFrom = Date.now();
    while (c.closedAt() === null && Date.now() - idleFrom < 6000) await sleep(50);
    const closedAfter = (c.closedAt() ?? Number.POSITIVE_INFINITY) - idleFrom;
    expect(closedAfter).toBeGreaterThanOrEqual(1000);
    expect(closedAfter).toBeLessThan(5000);
  });

  it('lets connections in use when the api stops finish and close, without waiting for the idle timeout', async () => {
    const api = await startApp();
    const [quiet, chatty] = await Promise.all([open(api.url), open(api.url)]);
    for (const c of [quiet, chatty]) expect(await c.ask()).toMatch(/^HTTP\/1\.1 200/);
    // On each, the next request is in flight (its body not all sent) when stop() begins.
    const answers = [quiet, chatty].map((c) => {
      const answered = c.answer();
      c.socket.write(HEAD(c.host) + BODY.slice(0, 5));
      return answered;
    });
    await sleep(100);
    const stopStarted = Date.now();
    const stopped = api.stop();
    await sleep(200);
    for (const c of [quiet, chatty]) c.socket.write(BODY.slice(5));
    for (const head of await Promise.all(answers)) expect(head).toMatch(/^HTTP\/1\.1 200/);
    // A request that begins while the api stops is answered, and its connection closes after it.
    const last = await chatty.ask();
    expect(last).toMatch(/^HTTP\/1\.1 200/);
    expect(last).toMatch(/\r\nConnection: close(\r\n|$)/i);
    await stopped;
    // SHUTDOWN_TIMEOUT_MS (10 s) would cut them; the keep-alive timeout alone would hold them 66 s.
    expect(Date.now() - stopStarted).toBeLessThan(5000);
    expect(quiet.closedAt()).not.toBeNull();
    expect(chatty.closedAt()).not.toBeNull();
  });
});
