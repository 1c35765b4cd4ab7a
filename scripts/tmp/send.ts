// api CPU per sendMessage (reply emitted to Redis, nobody subscribed), 50 concurrent conversations.
import { readdirSync, readFileSync } from 'node:fs';
const procMs = (re: RegExp) => { let t = 0; for (const d of readdirSync('/proc')) { if (!/^\d+$/.test(d)) continue; try { const st = readFileSync(`/proc/${d}/stat`, 'utf8'); const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')); if (!re.test(comm)) continue; const f = st.slice(st.lastIndexOf(')') + 2).split(' '); t += (Number(f[11]) + Number(f[12])) * 10; } catch {} } return t; };
import { cpuMsOf, startBenchApi } from '../bench/lib.js';
const sysMs = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number); return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) * 10; };
const api = await startBenchApi({ CHAT_MAX_CONCURRENT_REPLIES: '100' }, process.env.API_ARGS?.split(' ').filter(Boolean) ?? []);
const convs: { id: string; token: string }[] = [];
for (let i = 0; i < 50; i++) {
  const token = (await api.gql('mutation($e: String!) { signUp(email: $e, password: "benchmark pw") { token } }', { e: `s${i}-${Date.now()}@example.test` })).data.signUp?.token as string;
  const id = (await api.gql('mutation { createConversation(title: "x") { id } }', {}, token)).data.createConversation?.id as string;
  convs.push({ id, token });
}
const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { assistantMessage { id } } }';
const q = process.argv[2] ?? SEND;
for (let rep = 0; rep < Number(process.env.REPS ?? 6); rep++) {
  const c0 = cpuMsOf(api.pid);
  const s0 = sysMs();
  const pg0 = procMs(/^postgres/);
  const r0 = procMs(/^redis/);
  const t0 = performance.now();
  await Promise.all(convs.map(async (c) => { for (let i = 0; i < 10; i++) { const r = await api.gql(q, { c: c.id, t: 'hey, what can you do?' }, c.token); if (r.errors) throw new Error(JSON.stringify(r.errors)); } }));
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1500)); // replies finish
  const sys = (sysMs() - s0) / 500;
  const pgc = (procMs(/^postgres/) - pg0) / 500;
  const rc = (procMs(/^redis/) - r0) / 500;
  console.log('api cpu ms per request', ((cpuMsOf(api.pid) - c0) / 500).toFixed(2), 'wall ms per request', (wall / 500).toFixed(2), 'machine cpu ms per request', sys.toFixed(2), 'postgres', pgc.toFixed(2), 'redis', rc.toFixed(2));
}
await api.stop(); process.exit(0);
