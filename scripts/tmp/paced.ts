import { cpuMsOf, startBenchApi } from '../bench/lib.js';
const api = await startBenchApi({}, process.env.API_ARGS?.split(' ').filter(Boolean) ?? []);
const { token } = (await api.gql('mutation { signUp(email: "paced-x@example.test", password: "benchmark pw") { token } }')).data.signUp as { token: string };
const q = '{ me { id } }';
for (let i = 0; i < 3000; i++) await api.gql(q, {}, token);
for (const rate of [250, 1000, 0]) {
  const n = 2000; const c0 = cpuMsOf(api.pid); const start = performance.now(); const ps: Promise<unknown>[] = [];
  if (rate) { for (let i = 0; i < n; i++) { const w = start + (i * 1000) / rate - performance.now(); if (w > 0) await new Promise((r) => setTimeout(r, w)); ps.push(api.gql(q, {}, token)); } await Promise.all(ps); }
  else await Promise.all(Array.from({ length: 10 }, async () => { for (let i = 0; i < n / 10; i++) await api.gql(q, {}, token); }));
  console.log(rate ? `paced ${rate}/s` : 'closed loop x10', 'cpu ms/req', ((cpuMsOf(api.pid) - c0) / n).toFixed(2));
}
await api.stop(); process.exit(0);
