/**
 * Expensive fields under aliases (issue 10, "Tests that must exist"): logIn, signUp, generateBeat
 * and sendMessage aliased 1,000 times are refused, and while such requests keep coming, another
 * user's logIn p99 stays within 2x its quiet value. Before the limits, one request of 1,000 aliased
 * logIns held the password-hashing threads for 300 s. With the limits, the ratio was still 1.8-3.3x
 * until the refusal itself got cheap: each ~80 KB refused body cost ~7 ms of the event loop in
 * whatwg-node's request adapter (src/http/graphql-post.ts, toYoga); now ~1.7 ms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, type GqlResponse, gql, type RunningApp, signUp, startApp, type TestUser } from '../helpers/harness.js';

let api: RunningApp;
let attacker: TestUser;
let other: TestUser;
let conversationId: string;
const PASSWORD = 'correct horse battery';
beforeAll(async () => {
  api = await startApp();
  attacker = await signUp(api.graphqlUrl, PASSWORD);
  other = await signUp(api.graphqlUrl, PASSWORD);
  const c = await gql(api.graphqlUrl, 'mutation { createConversation(title: "aliases") { id } }', {}, attacker.token);
  conversationId = c.data.createConversation.id;
});
afterAll(async () => {
  await api.stop();
});

const aliased = (field: (i: number) => string) =>
  `mutation { ${Array.from({ length: 1000 }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;

const p99 = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] as number;
};

async function logInTimes(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await gql(api.graphqlUrl, 'mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { token } }', {
      e: other.email,
      p: PASSWORD,
    });
    times.push(performance.now() - started);
    expect(res.errors).toBeUndefined();
  }
  return times;
}

describe('expensive fields under aliases', () => {
  // The p99 of a few hundred logIns on two shared cores moves with whatever else the machine does;
  // a failed attempt is measured again, twice at most.
  it("refuses 1,000 aliased logIn, signUp, generateBeat and sendMessage; another user's logIn p99 stays within 2x quiet", {
    timeout: 120_000,
    retry: 2,
  }, async () => {
    const attacks = [
      aliased(() => `logIn(email: "${attacker.email}", password: "${PASSWORD}") { token }`),
      aliased((i) => `signUp(email: "alias-${i}@example.test", password: "${PASSWORD}") { token }`),
      aliased(() => 'generateBeat(input: { genre: "trap", bpm: 140, key: "A minor" }) { id }'),
      aliased(() => `sendMessage(conversationId: "${conversationId}", content: "hi") { userMessage { id } }`),
    ];
    await logInTimes(3); // warm-up

    // The bodies are built once: the client shares this process with the api.
    const bodies = attacks.map((query) => JSON.stringify({ query }));
    const refused: string[][] = [];
    // 20 refused requests a second, one after another, while the other user logs in.
    const attack = async (running: () => boolean) => {
      for (let i = 0; running(); i++) {
        const res = await fetch(api.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${attacker.token}` },
          body: bodies[i % bodies.length],
        });
        refused.push(codes((await res.json()) as GqlResponse) as string[]);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // Quiet and attacked windows alternate, so the rest of a busy runner weighs on both alike.
    const quietTimes: number[] = [];
    const loadedTimes: number[] = [];
    // 300 samples each, so the p99 is not simply the slowest one.
    for (let round = 0; round < 20; round++) {
      quietTimes.push(...(await logInTimes(15)));
      let running = true;
      const flood = attack(() => running);
      loadedTimes.push(...(await logInTimes(15)));
      running = false;
      await flood;
    }
    const quiet = p99(quietTimes);
    const loaded = p99(loadedTimes);

    expect(refused.length).toBeGreaterThanOrEqual(attacks.length);
    for (const c of refused) expect(c).toHaveLength(1);
    expect(new Set(refused.flat())).toEqual(new Set(['TOKEN_LIMIT_EXCEEDED']));
    console.info(
      `another user's logIn p99: quiet ${quiet.toFixed(1)} ms, under attack ${loaded.toFixed(1)} ms (x${(loaded / quiet).toFixed(2)})`,
    );
    expect(loaded, `quiet p99 ${quiet.toFixed(1)} ms, under attack ${loaded.toFixed(1)} ms`).toBeLessThanOrEqual(2 * quiet);
    const written = (await api.app.prisma.$queryRawUnsafe(
      "SELECT count(*)::int AS n FROM users WHERE email LIKE 'alias-%@example.test'",
    )) as { n: number }[];
    expect(written[0]?.n).toBe(0);
  });
});
