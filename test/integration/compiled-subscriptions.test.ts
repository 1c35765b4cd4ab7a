/**
 * Subscription events run on a compiled plan (src/graphql/compiled-subscriptions.ts). Two apps on the
 * same Redis hear the same events: one compiles, one runs yoga's own executor
 * (GRAPHQL_COMPILED_SUBSCRIPTIONS=false). What each subscriber receives must be the same, byte for
 * byte: fragments, aliases, directives, variables, scalars and enums, a nested field's access rule
 * checked per event (a NOT_FOUND error under its path), and values no serializer accepts (an internal
 * error, masked).
 */
import type { Client, FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gql,
  rawId,
  type RunningApp,
  signUp,
  startApp,
  storeAndPublishMessage,
  type TestUser,
  until,
  wsClient,
} from '../helpers/harness.js';
import { sample, scrape } from '../helpers/metrics.js';

const DOCUMENT = `
  subscription Added($c: ID!, $withConversation: Boolean!, $skipIntent: Boolean = false) {
    messageAdded(conversationId: $c) {
      __typename
      ...Fields
      who: role
      intent @skip(if: $skipIntent)
      conversation @include(if: $withConversation) { id title }
      entities { genre bpm }
    }
  }
  fragment Fields on Message { id content status cost createdAt }
`;
type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;
const LITERAL = (c: string) => `subscription { messageAdded(conversationId: "${c}") { id content conversation { id } } }`;

let compiled: RunningApp;
let general: RunningApp;
let alice: TestUser;
let bob: TestUser;
const clients: Client[] = [];

beforeAll(async () => {
  [compiled, general] = await Promise.all([startApp(), startApp({ GRAPHQL_COMPILED_SUBSCRIPTIONS: 'false' })]);
  [alice, bob] = await Promise.all([signUp(compiled.graphqlUrl), signUp(compiled.graphqlUrl)]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([compiled.stop(), general.stop()]);
});

/** Every result (data and errors, as sent) of one subscription; a refusal is one result of its errors. */
function results(api: RunningApp, query: string, variables: Record<string, unknown>) {
  const { client } = wsClient(api.wsUrl, alice.token);
  clients.push(client);
  const got: Result[] = [];
  client.subscribe(
    { query, variables },
    {
      next: (r) => got.push(r),
      error: (errors) => got.push({ errors: errors as Result['errors'] }),
      complete: () => {},
    },
  );
  return got;
}

async function conversationOf(user: TestUser) {
  const res = await gql(compiled.graphqlUrl, 'mutation { createConversation(title: "compiled") { id } }', {}, user.token);
  return res.data.createConversation.id as string;
}

describe('compiled subscription events', () => {
  it('deliver what the general executor delivers, errors included, and count their plans', async () => {
    const plans = async (api: RunningApp) =>
      sample(await scrape(api.url), 'dawg_graphql_subscription_plans_total', { plan: 'compiled' }) ?? 0;
    const before = await Promise.all([plans(compiled), plans(general)]);
    const c = await conversationOf(alice);
    const foreign = await conversationOf(bob);
    const variables = { c, withConversation: true };
    const streams = [results(compiled, DOCUMENT, variables), results(general, DOCUMENT, variables)];
    const literal = [results(compiled, LITERAL(c), {}), results(general, LITERAL(c), {})];
    const all = [...streams, ...literal];
    // Every subscriber is listening once it has had a probe (the apps register their listeners after
    // Redis counts the channel's subscription); the probes are left out of what is compared.
    await until(async () => {
      if (all.some((s) => s.length === 0)) await storeAndPublishMessage(compiled, c, 'probe');
      await new Promise((r) => setTimeout(r, 50));
      return all.every((s) => s.length > 0);
    }, 10_000);
    const real = (s: Result[]) => s.filter((r) => (r.data?.messageAdded as { content?: string } | null)?.content !== 'probe');

    const message = await storeAndPublishMessage(compiled, c, 'make me a lofi beat');
    // An event whose message belongs to another user's conversation: the nested `conversation` field's
    // access rule refuses it (NOT_FOUND), and, both fields being non-null, the data is null.
    await compiled.app.services.pubsub.publish('messageAdded', rawId(c), {
      conversationId: rawId(c),
      message: { ...message, id: '00000000-0000-4000-8000-00000000000f', conversationId: rawId(foreign), content: 'not yours' },
    });
    // Values no serializer accepts (an enum outside its set, a date that is not one): an internal
    // error, masked, under the field's path.
    await compiled.app.services.pubsub.publish('messageAdded', rawId(c), {
      conversationId: rawId(c),
      message: { ...message, role: 'BOGUS' as never },
    });
    await compiled.app.services.pubsub.publish('messageAdded', rawId(c), {
      conversationId: rawId(c),
      message: { ...message, createdAt: 'not a date' as never },
    });
    await until(() => all.every((s) => real(s).length >= 4));

    for (const [mine, theirs] of [streams, literal] as [Result[], Result[]][]) {
      expect(JSON.stringify(real(mine))).toBe(JSON.stringify(real(theirs)));
    }
    const [ok, refused, badEnum, badDate] = real(streams[0] as Result[]);
    expect(ok).toEqual({
      data: {
        messageAdded: {
          __typename: 'Message',
          id: expect.any(String),
          content: 'make me a lofi beat',
          status: 'COMPLETE',
          cost: 0,
          createdAt: message.createdAt.toISOString(),
          who: 'USER',
          intent: null,
          conversation: { id: c, title: 'compiled' },
          entities: null,
        },
      },
    });
    expect(rawId(String((ok?.data?.messageAdded as { id?: string } | undefined)?.id))).toBe(message.id);
    expect(refused?.data).toBeNull();
    expect(refused?.errors).toMatchObject([{ path: ['messageAdded', 'conversation'], extensions: { code: 'NOT_FOUND' } }]);
    const internal = (field: string) => [
      { message: 'Internal server error', path: ['messageAdded', field], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ];
    expect(badEnum).toEqual({ data: null, errors: internal('who') });
    expect(badDate).toEqual({ data: null, errors: internal('createdAt') });
    expect(real(literal[0] as Result[])[1]?.errors).toMatchObject([{ extensions: { code: 'NOT_FOUND' } }]);

    // One plan per distinct document on the compiling app; none on the other.
    expect(await plans(compiled)).toBe((before[0] as number) + 2);
    expect(await plans(general)).toBe(before[1]);
  });

  it("never compiles a document whose string literal holds graphql-jit's marker: its events run on the general executor", async () => {
    // graphql-jit would write this literal into generated code as `new Date(<text>)`; that the text
    // then runs is shown in test/unit/compiled-subscriptions.test.ts.
    const marker = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d(globalThis.__markerProbe = 1, 1)';
    const general = async () =>
      sample(await scrape(compiled.url), 'dawg_graphql_subscription_plans_total', { plan: 'general' }) ?? 0;
    const before = await general();
    const c = await conversationOf(alice);
    const query = `subscription($c: ID!) { messageAdded(conversationId: $c) { content conversation { messages(first: 1, after: ${JSON.stringify(marker)}) { edges { node { id } } } } } }`;
    const got = results(compiled, query, { c });
    await until(async () => {
      if (got.length === 0) await storeAndPublishMessage(compiled, c, 'probe');
      await new Promise((r) => setTimeout(r, 50));
      return got.length > 0;
    }, 10_000);
    // The event ran, on the general executor: the literal is only a bad cursor there.
    expect(got[0]?.errors).toMatchObject([{ path: ['messageAdded', 'conversation'], extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(await general()).toBe(before + 1);
  });

  it('refuse a subscription the viewer may not read before any plan runs', async () => {
    const foreign = await conversationOf(bob);
    const got = results(compiled, DOCUMENT, { c: foreign, withConversation: false });
    await until(() => got.length >= 1);
    expect(got[0]?.data ?? null).toBeNull();
    expect(got[0]?.errors).toMatchObject([{ extensions: { code: 'NOT_FOUND' } }]);
  });
});
