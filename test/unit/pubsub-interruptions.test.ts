/**
 * When pub/sub counts as cut in a Redis Cluster (PubSub.watchInterruptions): a master leaving, or the
 * subscriber moving to another node, is a cut (the api then closes its sockets with 1012); a replica
 * the subscriber is not on coming or going is not. On a stand-in for ioredis's Cluster, which emits
 * the same events ('-node' with the node's connection, 'refresh' after each slots refresh); the real
 * cluster is in test/integration/redis-cluster.test.ts. A new subscriber connection is a cut even on
 * the same node, and every channel with a listener is subscribed again before the cut counts as over.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PubSub } from '../../src/pubsub.js';
import type { Redis } from '../../src/redis.js';

class FakeCluster extends EventEmitter {
  readonly isCluster = true;
  status = 'ready';
  /** The subscriber connection: ioredis's ClusterSubscriber keeps one until it picks another. */
  connection: { options: { host: string; port: number }; status?: string } | null = {
    options: { host: '127.0.0.1', port: 7003 },
  };
  readonly subscriber = { getInstance: () => this.connection };
  /** Every SUBSCRIBE sent, a list of channels each. */
  readonly subscribes: string[][] = [];
  set node(node: { host: string; port: number } | null) {
    this.connection = node ? { options: node } : null;
  }
  ping = () => Promise.resolve('PONG');
  /** graphql-redis-subscriptions passes a callback; resubscribeAll awaits the promise. */
  subscribe(...args: unknown[]): Promise<number> {
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as (err: Error | null) => void) : null;
    // As ioredis: the reply comes in a later turn.
    const done = callback && ((err: Error | null) => setImmediate(() => callback(err)));
    if (this.refuse) {
      done?.(this.refuse);
      const refused = Promise.reject(this.refuse);
      // As ioredis: given a callback, the promise it returns has a handler already.
      if (done) refused.catch(() => {});
      return refused;
    }
    this.subscribes.push(args as string[]);
    done?.(null);
    return Promise.resolve(args.length);
  }
  refuse: Error | null = null;
  unsubscribe = () => Promise.resolve(0);
  punsubscribe = () => Promise.resolve(0);
}

const leaving = (port: number, readOnly: boolean) => ({ options: { host: '127.0.0.1', port, readOnly } });
const settle = () => new Promise((r) => setTimeout(r, 60));

function watched() {
  const sub = new FakeCluster();
  const pubsub = new PubSub(new FakeCluster() as unknown as Redis, sub as unknown as Redis, 'test:');
  let resumed = 0;
  const stop = pubsub.watchInterruptions(() => resumed++, 10);
  return { sub, pubsub, resumed: () => resumed, stop };
}

describe('pub/sub interruptions in a Redis Cluster', () => {
  it('a replica the subscriber is not on leaving is not a cut; a master leaving is, once', async () => {
    const w = watched();
    w.sub.emit('-node', leaving(7005, true));
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(0);
    w.sub.emit('-node', leaving(7001, false));
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(1);
    w.stop();
  });

  it('the subscriber moving to another node is a cut (the node it was on went away, even a replica)', async () => {
    const w = watched();
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(0);
    w.sub.node = { host: '127.0.0.1', port: 7000 };
    w.sub.emit('-node', leaving(7003, true));
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(1);
    // Between two subscribers (none picked yet), then on a new one: one more cut.
    w.sub.node = null;
    w.sub.emit('refresh');
    w.sub.node = { host: '127.0.0.1', port: 7002 };
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(2);
    w.stop();
  });

  it('waits for the cluster to answer before counting the cut as over', async () => {
    const w = watched();
    let answers = false;
    w.sub.ping = () => (answers ? Promise.resolve('PONG') : Promise.reject(new Error('CLUSTERDOWN')));
    w.sub.emit('-node', leaving(7001, false));
    await settle();
    expect(w.resumed()).toBe(0);
    answers = true;
    await settle();
    expect(w.resumed()).toBe(1);
    w.stop();
  });

  it('a new subscriber connection on the same node is a cut too', async () => {
    const w = watched();
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(0);
    // ioredis replaced the connection (the old one ended) and picked the same node again.
    w.sub.node = { host: '127.0.0.1', port: 7003 };
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(1);
    w.stop();
  });

  it('subscribes again to every channel with a listener, standing ones included, before the cut is over', async () => {
    const w = watched();
    await w.pubsub.listen('projectAccessRevoked', 'all', () => {});
    const leave = await w.pubsub.listen('messageAdded', 'c1', () => {});
    await w.pubsub.listen('messageAdded', 'c2', () => {});
    leave();
    w.sub.subscribes.length = 0;
    w.sub.node = { host: '127.0.0.1', port: 7004 };
    // Between its connect and its ready check, where a SUBSCRIBE would fail that check: none is sent.
    if (w.sub.connection) w.sub.connection.status = 'connect';
    w.sub.emit('refresh');
    await settle();
    expect(w.resumed()).toBe(0);
    expect(w.sub.subscribes).toEqual([]);
    if (w.sub.connection) w.sub.connection.status = 'ready';
    w.sub.refuse = new Error('Connection is closed.');
    await settle();
    // The SUBSCRIBE failed: not over yet, tried again.
    expect(w.resumed()).toBe(0);
    w.sub.refuse = null;
    await settle();
    expect(w.resumed()).toBe(1);
    expect(w.sub.subscribes).toEqual([['test:project-access:revoked', 'test:conversation:c2:message-added']]);
    w.stop();
  });

  it('neither resumes nor tries again once watching stopped', async () => {
    const w = watched();
    let pings = 0;
    w.sub.ping = () => {
      pings++;
      return Promise.reject(new Error('CLUSTERDOWN'));
    };
    w.sub.emit('-node', leaving(7001, false));
    await settle();
    expect(pings).toBeGreaterThan(0);
    w.stop();
    const after = pings;
    w.sub.ping = () => {
      pings++;
      return Promise.resolve('PONG');
    };
    await settle();
    await settle();
    expect(pings).toBe(after);
    expect(w.resumed()).toBe(0);
  });

  it('a cut during a check is over only once a check that started after it succeeds', async () => {
    const w = watched();
    let answer: (() => void) | null = null;
    w.sub.ping = () => new Promise<string>((resolve) => (answer = () => resolve('PONG')));
    w.sub.emit('-node', leaving(7001, false));
    await settle();
    // The first check's PING is under way when another master leaves.
    const first = answer as (() => void) | null;
    expect(first).not.toBeNull();
    w.sub.emit('-node', leaving(7002, false));
    first?.();
    await new Promise((r) => setTimeout(r, 5));
    expect(w.resumed()).toBe(0);
    await settle();
    (answer as (() => void) | null)?.();
    await settle();
    expect(w.resumed()).toBe(1);
    w.stop();
  });

  it('sets up a subscription refused by a new connection in subscriber mode on the next try', async () => {
    const w = watched();
    w.sub.refuse = new Error('Connection in subscriber mode, only subscriber commands may be used');
    const listening = w.pubsub.listen('messageAdded', 'c3', () => {});
    await settle();
    w.sub.refuse = null;
    await expect(listening).resolves.toBeTypeOf('function');
    expect(w.sub.subscribes).toEqual([['test:conversation:c3:message-added']]);
    w.stop();
  });
});
