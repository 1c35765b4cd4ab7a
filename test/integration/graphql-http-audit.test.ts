/**
 * The GraphQL-over-HTTP conformance audit of graphql-http (serverAudits), against both HTTP
 * handlers (the lean POST path and yoga alone): 0 errors and 0 warnings. It includes the
 * "SHOULD use 400 status code on JSON parsing failure" that dawg used to warn on (issue 17).
 */
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../helpers/harness.js';

let lean: RunningApp;
let plain: RunningApp;
beforeAll(async () => {
  lean = await startApp();
  plain = await startApp({ GRAPHQL_LEAN_POST: 'false' });
});
afterAll(async () => {
  await lean.stop();
  await plain.stop();
});

describe('graphql-http server audit', () => {
  for (const [name, app] of [
    ['lean POST path on', () => lean],
    ['yoga only', () => plain],
  ] as const) {
    it(`passes every audit with no warning (${name})`, async () => {
      const audits = serverAudits({ url: () => app().graphqlUrl });
      const results = await Promise.all(audits.map((audit) => audit.fn()));
      const problems = results
        .filter((r) => r.status !== 'ok')
        .map((r) => `${r.status}: ${r.name}: ${'reason' in r ? r.reason : ''}`);
      expect(problems).toEqual([]);
      expect(results.length).toBeGreaterThan(50);
    });
  }
});
