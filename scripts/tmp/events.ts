// api CPU per chatStream event delivered: publish N events straight to the conversation's channel.
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { cpuMsOf, startBenchApi } from '../bench/lib.js';
const api = await startBenchApi({}, process.env.API_ARGS?.split(' ').filter(Boolean) ?? []);
const subs = Number(process.argv[2] ?? 50);
const redis = new Redis();
const convs: { id: string; token: string }[] = [];
for (let i = 0; i < subs; i++) {
  const token = (await api.gql('mutation($e: String!) { signUp(email: $e, password: "benchmark pw") { token } }', { e: `ev${i}-${Date.now()}@example.test` })).data.signUp?.token as string;
  const id = (await api.gql('mutation { createConversation(title: "x") { id } }', {}, token)).data.createConversation?.id as string;
  convs.push({ id, token });
}
let received = 0;
await Promise.all(convs.map((c) => new Promise<void>((resolve) => {
  const s = new WebSocket(api.url.replace('http', 'ws'), 'graphql-transport-ws');
  s.on('open', () => s.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${c.token}` } })));
  s.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'connection_ack') { s.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { chatStream(conversationId: "${c.id}") { messageId index done } }` } })); setTimeout(resolve, 200); } else if (m.type === 'next') received++; });
})));
const raw = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1];
for (let rep = 0; rep < 3; rep++) {
  const n = 200; // events per conversation
  received = 0;
  const c0 = cpuMsOf(api.pid);
  for (let i = 0; i < n; i++) {
    const p = redis.pipeline();
    for (const c of convs) p.publish(`${api.prefix}conversation:${raw(c.id)}:chat`, JSON.stringify({ conversationId: raw(c.id), messageId: raw(c.id), index: i, delta: 'three words here ', done: false, message: null }));
    await p.exec();
    await new Promise((r) => setTimeout(r, 5));
  }
  while (received < n * subs) await new Promise((r) => setTimeout(r, 10));
  console.log('api cpu µs per delivered event', (((cpuMsOf(api.pid) - c0) * 1000) / (n * subs)).toFixed(1));
}
await api.stop(); redis.disconnect(); process.exit(0);
