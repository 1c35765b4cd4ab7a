/**
 * When pub/sub counts as cut in a Redis Cluster (PubSub.watchInterruptions): a master leaving, or the
 * subscriber moving to another node, is a cut (the api then closes its sockets with 1012); a replica
 * the subscriber is not on coming or going is not. On a stand-in for ioredis's Cluster, which emits
 * the same events ('-node' with the node's connection, 'refresh' after each slots refresh); the real
 * cluster is in test/integration/redis-cluster.test.ts.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PubSub } from '../../src/pubsub.js';
import type { Redis } from '../../src/redis.js';

class FakeCluster extends EventEmitter {
  readonly isCluster = true;
  status = 'ready';
  node: { host: string; port: number } | null = { host: '127.0.0.1', port: 7003 };
  readonly subscriber = { getInstance: () => (this.node ? { options: this.node } : null) };
  ping = () => Promise.resolve('PONG');
}

const leaving = (port: number, readOnly: boolean) => ({ options: { host: '127.0.0.1', port, readOnly } });
const settle = () => new Promise((r) => setTimeout(r, 60));

function watched() {
  const sub = new FakeCluster();
  const pubsub = new PubSub(new FakeCluster() as unknown as Redis, sub as unknown as Redis, 'test:');
  let resumed = 0;
  const stop = pubsub.watchInterruptions(() => resumed++, 10);
  return { sub, resumed: () => resumed, stop };
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
});
