/**
 * Baseline for bench:subscriptions: a bare `ws` server that relays every
 * message of one Redis channel to all its sockets, with no GraphQL, auth or
 * protocol. What dawg costs on top of the transport is the ratio to this. Plain JavaScript, run by
 * node itself like the compiled api it is compared with (no tsx loader in either).
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

const channel = process.env.BENCH_CHANNEL ?? 'bench';
const server = createServer();
const wss = new WebSocketServer({ server });
const sub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
sub.on('message', (_channel, message) => {
  for (const socket of wss.clients) socket.send(message);
});
await sub.subscribe(channel);
server.listen(0, '127.0.0.1', () => console.log(`bare ws listening on ${server.address().port}`));
process.once('SIGTERM', () => {
  for (const s of wss.clients) s.terminate();
  server.close();
  sub.disconnect();
  process.exit(0);
});
