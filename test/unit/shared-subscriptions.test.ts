import { buildSchema } from 'graphql';
import { makeServer } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { SharedSubscriptions } from '../../src/transport/shared-subscriptions.js';

/** A controllable source: push() values, end(); records whether it was closed. */
function source() {
  const queue: number[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const state = { closed: false, started: 0 };
  const iterable: AsyncIterableIterator<number> = {
    async next() {
      while (!queue.length && !ended && !state.closed) await new Promise<void>((r) => (wake = r));
      if (queue.length) return { value: queue.shift() as number, done: false };
      return { value: undefined, done: true };
    },
    async return() {
      state.closed = true;
      wake?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    state,
    start: async () => {
      state.started++;
      return iterable;
    },
    push: (v: number) => {
      queue.push(v);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

/** A subscriber's target: records what it was delivered. `refuse` makes its deliveries throw. */
interface Target {
  got: unknown[];
  refuse?: boolean;
}

/** A hub whose results are "prepared" into strings, counting how often that ran. */
function hub() {
  const counts = { prepared: 0 };
  const shared = new SharedSubscriptions<Target, string>({
    prepare: (value) => {
      counts.prepared++;
      if (value === 'poison') throw new Error('cannot prepare');
      return `p${value}`;
    },
    deliver: (target, prepared) => {
      if (target.refuse) throw new Error('cannot deliver');
      target.got.push(prepared);
    },
  });
  return { shared, counts };
}

const target = (): Target => ({ got: [] });
/** Lets the pump run: a source's value reaches the subscribers within a few microtasks. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** What the transport does: join a running stream for the key, else start and share one. */
async function subscribe(
  shared: SharedSubscriptions<Target, string>,
  key: string,
  to: Target,
  start: () => Promise<AsyncIterable<unknown>>,
) {
  const subscription = shared.attach(key, to) ?? shared.share(key, await start(), to);
  if (!subscription) throw new Error('not shared');
  return subscription;
}

describe('SharedSubscriptions', () => {
  it('starts one source for identical keys, prepares each value once and delivers it to every subscriber', async () => {
    const { shared, counts } = hub();
    const src = source();
    const [ta, tb] = [target(), target()];
    await subscribe(shared, 'k', ta, src.start);
    await subscribe(shared, 'k', tb, src.start);
    expect(src.state.started).toBe(1);
    expect(shared.size).toBe(1);
    src.push(1);
    src.push(2);
    await flush();
    expect(ta.got).toEqual(['p1', 'p2']);
    expect(tb.got).toEqual(['p1', 'p2']);
    expect(counts.prepared).toBe(2);
  });

  it('keeps different keys apart', async () => {
    const { shared } = hub();
    const one = source();
    const two = source();
    const [ta, tb] = [target(), target()];
    await subscribe(shared, 'one', ta, one.start);
    await subscribe(shared, 'two', tb, two.start);
    one.push(1);
    two.push(2);
    await flush();
    expect(ta.got).toEqual(['p1']);
    expect(tb.got).toEqual(['p2']);
    expect(shared.size).toBe(2);
  });

  it('a subscriber that leaves gets nothing more; the source closes when the last leaves, not before', async () => {
    const { shared } = hub();
    const src = source();
    const [ta, tb] = [target(), target()];
    const a = await subscribe(shared, 'k', ta, src.start);
    const b = await subscribe(shared, 'k', tb, src.start);
    await a.return();
    expect(src.state.closed).toBe(false);
    src.push(7);
    await flush();
    expect(ta.got).toEqual([]);
    expect(tb.got).toEqual(['p7']);
    await b.return();
    expect(src.state.closed).toBe(true);
    expect(shared.size).toBe(0);
    expect(shared.has('k')).toBe(false);
    const c = await subscribe(shared, 'k', target(), src.start);
    expect(src.state.started).toBe(2);
    await c.return();
  });

  it('a late joiner gets the values from its arrival on', async () => {
    const { shared } = hub();
    const src = source();
    const [early, late] = [target(), target()];
    await subscribe(shared, 'k', early, src.start);
    src.push(1);
    await flush();
    await subscribe(shared, 'k', late, src.start);
    src.push(2);
    await flush();
    expect(early.got).toEqual(['p1', 'p2']);
    expect(late.got).toEqual(['p2']);
  });

  it('ends every subscriber when the source ends, and frees the key at once', async () => {
    const { shared } = hub();
    const src = source();
    const a = await subscribe(shared, 'k', target(), src.start);
    const b = await subscribe(shared, 'k', target(), src.start);
    const waiting = a.next();
    src.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await b.next()).toEqual({ value: undefined, done: true });
    expect(shared.size).toBe(0);
    expect(shared.attach('k', target())).toBeNull();
  });

  it('fails every subscriber with the error when the source throws', async () => {
    const { shared } = hub();
    const failure = new Error('source broke');
    const failing: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(failure) }),
    };
    const a = shared.share('k', failing, target());
    const b = shared.attach('k', target());
    await expect(a?.next()).rejects.toBe(failure);
    await expect(b?.next()).rejects.toBe(failure);
    expect(shared.has('k')).toBe(false);
  });

  it('a value that cannot be prepared fails every subscriber and closes the source', async () => {
    const { shared } = hub();
    const src = source();
    const a = await subscribe(shared, 'k', target(), src.start);
    const b = await subscribe(shared, 'k', target(), src.start);
    (src.push as (v: unknown) => void)('poison');
    await expect(a.next()).rejects.toThrow('cannot prepare');
    await expect(b.next()).rejects.toThrow('cannot prepare');
    expect(src.state.closed).toBe(true);
    expect(shared.has('k')).toBe(false);
  });

  it('a subscriber whose delivery throws fails alone and leaves; the others keep their values', async () => {
    const { shared } = hub();
    const src = source();
    const [ok, bad] = [target(), { got: [], refuse: true }];
    const a = await subscribe(shared, 'k', ok, src.start);
    const b = await subscribe(shared, 'k', bad, src.start);
    src.push(1);
    await expect(b.next()).rejects.toThrow('cannot deliver');
    bad.refuse = false;
    src.push(2);
    await flush();
    expect(ok.got).toEqual(['p1', 'p2']);
    expect(bad.got).toEqual([]);
    expect(src.state.closed).toBe(false);
    await a.return();
    expect(src.state.closed).toBe(true);
  });

  it('return() settles a pending next() as done', async () => {
    const { shared } = hub();
    const src = source();
    const a = await subscribe(shared, 'k', target(), src.start);
    const waiting = a.next();
    await a.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it('a subscriber attaching after the source ended completes instead of waiting forever', async () => {
    const { shared } = hub();
    const src = source();
    const a = await subscribe(shared, 'k', target(), src.start);
    const other = shared.share('other', (await source().start()) as AsyncIterable<unknown>, target());
    src.end();
    await a.next();
    // The key is free: a new subscriber starts its own source rather than joining the ended one.
    const b = await subscribe(shared, 'k', target(), src.start);
    expect(src.state.started).toBe(2);
    await b.return();
    await other?.return();
  });

  it('does not share a source when one already runs for the key (two first subscribers raced)', async () => {
    const { shared } = hub();
    const first = source();
    const second = source();
    const a = shared.share('k', await first.start(), target());
    expect(shared.share('k', await second.start(), target())).toBeNull();
    await a?.return();
  });
});

describe('a first subscriber still setting up', () => {
  it('is announced to identical subscriptions until it settles, with how it ended', async () => {
    const { shared } = hub();
    expect(shared.starting('k')).toBeUndefined();
    const settle = shared.begin('k');
    const waiting = shared.starting('k');
    expect(waiting).toBeInstanceOf(Promise);
    expect(shared.starting('other')).toBeUndefined();
    settle('shared');
    expect(await waiting).toBe('shared');
    expect(shared.starting('k')).toBeUndefined();
  });

  it('a later first does not lose its announcement to an earlier one that settles after it began', async () => {
    const { shared } = hub();
    const early = shared.begin('k');
    const earlyWait = shared.starting('k');
    early('failed');
    const late = shared.begin('k');
    const lateWait = shared.starting('k');
    early('failed'); // settling twice changes nothing
    expect(shared.starting('k')).toBe(lateWait);
    late('shared');
    expect([await earlyWait, await lateWait]).toEqual(['failed', 'shared']);
  });
});

/**
 * graphql-ws's own server iterating Subscriptions (as src/transport/graphql-ws.ts returns them):
 * the stream's end and failure reach each socket as graphql-ws's complete and error messages.
 */
describe('under graphql-ws', () => {
  const QUERY = 'subscription { tick }';

  /** A graphql-ws server whose every subscription joins `key` on `shared` (`start` makes its source). */
  function server(shared: SharedSubscriptions<Target, string>, start: () => Promise<AsyncIterable<unknown>>) {
    return makeServer<undefined, { target: Target }>({
      schema: buildSchema('type Query { a: Int } type Subscription { tick: Int }'),
      subscribe: async (args) => {
        const to = (args.contextValue as { target: Target }).target;
        return (await subscribe(shared, 'k', to, start)) as never;
      },
      context: (ctx) => ({ target: ctx.extra.target }),
    });
  }

  /** One graphql-ws connection (past its ack) with one subscription `id`; records what it was sent. */
  async function connection(srv: ReturnType<typeof server>, id: string) {
    const sent: { type: string; id?: string; payload?: unknown }[] = [];
    const target: Target = { got: [] };
    let handle: (data: string) => Promise<void> = async () => {};
    srv.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (data) => void sent.push(JSON.parse(data)),
        close: () => {},
        onMessage: (cb) => {
          handle = cb;
        },
      },
      { target },
    );
    await handle('{"type":"connection_init"}');
    const running = handle(JSON.stringify({ id, type: 'subscribe', payload: { query: QUERY } }));
    return { sent, target, running, send: (message: unknown) => handle(JSON.stringify(message)) };
  }

  it('sends each socket complete when the stream ends, and error when it fails', async () => {
    const { shared } = hub();
    const src = source();
    const srv = server(shared, src.start);
    const [a, b] = [await connection(srv, 'a'), await connection(srv, 'b')];
    await flush();
    src.push(1);
    src.end();
    await Promise.all([a.running, b.running]);
    expect(a.target.got).toEqual(['p1']);
    expect(a.sent.at(-1)).toEqual({ id: 'a', type: 'complete' });
    expect(b.sent.at(-1)).toEqual({ id: 'b', type: 'complete' });

    const failure = new Error('the feed broke');
    const failing = server(hub().shared, async () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(failure) }),
    }));
    const [c, d] = [await connection(failing, 'c'), await connection(failing, 'd')];
    await Promise.all([c.running, d.running]);
    expect(c.sent.at(-1)).toMatchObject({ id: 'c', type: 'error', payload: [{ message: 'the feed broke' }] });
    expect(d.sent.at(-1)).toMatchObject({ id: 'd', type: 'error', payload: [{ message: 'the feed broke' }] });
  });

  it("leaves the stream on the client's complete: the source closes when the last one does", async () => {
    const { shared } = hub();
    const src = source();
    const srv = server(shared, src.start);
    const [a, b] = [await connection(srv, 'a'), await connection(srv, 'b')];
    await flush();
    await a.send({ id: 'a', type: 'complete' });
    await a.running;
    src.push(1);
    await flush();
    expect([a.target.got, b.target.got]).toEqual([[], ['p1']]);
    expect(src.state.closed).toBe(false);
    await b.send({ id: 'b', type: 'complete' });
    await b.running;
    expect(src.state.closed).toBe(true);
    // A client's complete is not answered.
    expect([...a.sent, ...b.sent].filter((m) => m.type === 'complete')).toEqual([]);
  });
});
