/**
 * Pipelines without a hidden class each (src/redis-pipeline.ts): they share one, where ioredis's
 * constructor gives each its own (which kept dropped ones alive through scavenges), and still count
 * their commands.
 */
import { Pipeline } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runWithNatives } from '../helpers/natives.js';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/redis.js';

const client = () => createRedis('redis://127.0.0.1:6379', createLogger({ LOG_LEVEL: 'error' }), 'test', { lazyConnect: true });

/**
 * Whether two pipelines share a V8 hidden class (%HaveSameMap, in a child process with
 * --allow-natives-syntax), built by createRedis's `pipeline()` (`lean`) or ioredis's constructor (`own`).
 * A hidden class of its own per pipeline is what kept each one alive through scavenges: measured in
 * docs/benchmarks.md ("ioredis pipelines without a hidden class each"), 1.36-1.50 MB promoted per
 * scavenge under generateBeat at 200/s before, 0.53 MB after.
 */
function sharedHiddenClass(): { lean: boolean; own: boolean } {
  const script = `
    import { Pipeline } from 'ioredis';
    import { createLogger } from './src/logger.ts';
    import { createRedis } from './src/redis.ts';
    const redis = createRedis('redis://127.0.0.1:6379', createLogger({ LOG_LEVEL: 'error' }), 'test', { lazyConnect: true });
    const lean = [redis.pipeline().get('a'), redis.pipeline().get('b')];
    const own = [new Pipeline(redis).get('a'), new Pipeline(redis).get('b')];
    console.log('RESULT ' + JSON.stringify({ lean: %HaveSameMap(lean[0], lean[1]), own: %HaveSameMap(own[0], own[1]) }));
    redis.disconnect();`;
  return runWithNatives<{ lean: boolean; own: boolean }>(script);
}

describe('ioredis pipelines', () => {
  it('have no length accessor of their own, and count their commands', () => {
    const redis = client();
    const pipeline = redis.pipeline().get('a').set('b', '1');
    expect(Object.getOwnPropertyDescriptor(pipeline, 'length')).toBeUndefined();
    expect(pipeline.length).toBe(2);
    expect(redis.pipeline([['get', 'a']]).length).toBe(1);
    // The swap of Object.defineProperty is undone; ioredis's constructor alone still defines its own.
    expect(Object.defineProperty.name).toBe('defineProperty');
    expect(Object.getOwnPropertyDescriptor(new Pipeline(redis as never), 'length')).toBeDefined();
    redis.disconnect();
  });

  it('share one hidden class, where ioredis gives each its own', () => {
    expect(sharedHiddenClass()).toEqual({ lean: true, own: false });
  });
});

describe('auto-pipelining', () => {
  it('keeps one entry per slot key across flushes, and every command gets its own answer', async () => {
    const redis = createRedis('redis://127.0.0.1:6379', createLogger({ LOG_LEVEL: 'error' }), 'test', {
      enableAutoPipelining: true,
    });
    const key = `dawg-test:autopipeline:${process.pid}`;
    try {
      const tables = redis as unknown as { _autoPipelines: { entries: Map<string, unknown> } };
      for (let turn = 0; turn < 50; turn++) {
        const counts = Array.from({ length: 20 }, () => redis.incr(key));
        // Queued in this turn's pipeline, not sent yet.
        expect(redis.autoPipelineQueueSize).toBe(20);
        const answers = await Promise.all(counts);
        expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => turn * 20 + i + 1));
        expect(redis.autoPipelineQueueSize).toBe(0);
      }
      // Deleted keys stay in the table, emptied: one entry ('main') however many flushes there were.
      expect([...tables._autoPipelines.entries.keys()]).toEqual(['main']);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});
