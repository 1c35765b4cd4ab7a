import { cpuMsOf, startBenchApi } from '../bench/lib.js';
const api = await startBenchApi({});
await new Promise((r) => setTimeout(r, 2000));
const c0 = cpuMsOf(api.pid);
await new Promise((r) => setTimeout(r, 5000));
console.log('idle cpu ms over 5 s', cpuMsOf(api.pid) - c0);
const { token } = (await api.gql('mutation { signUp(email: "idle-x@example.test", password: "benchmark pw") { token } }')).data.signUp as { token: string };
for (const q of ['{ __typename }', '{ me { id } }']) {
  for (let rep = 0; rep < 3; rep++) {
    const c1 = cpuMsOf(api.pid); const t1 = performance.now();
    for (let i = 0; i < 500; i++) await api.gql(q, {}, token);
    console.log(q, 'sequential: cpu ms/req', ((cpuMsOf(api.pid) - c1) / 500).toFixed(3), 'wall ms/req', ((performance.now() - t1) / 500).toFixed(3));
  }
}
await api.stop();
process.exit(0);
