/**
 * Pipelines without a hidden class each (src/redis-pipeline.ts): a pipeline that is dropped is freed by
 * the next scavenge instead of being promoted to old space, and pipelines still work.
 */
import { spawnSync } from 'node:child_process';
import { Pipeline } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/redis.js';

const client = () => createRedis('redis://127.0.0.1:6379', createLogger({ LOG_LEVEL: 'error' }), 'test', { lazyConnect: true });

/**
 * Bytes V8's scavenges promoted (its --trace-gc-nvp) in a process that makes 20,000 pipelines of one
 * command and drops them, with ioredis's constructor (`own`) or createRedis's `pipeline()`.
 */
function promoted(kind: 'own' | 'lean'): number {
  const script = `
    import { Pipeline } from 'ioredis';
    import { createLogger } from './src/logger.ts';
    import { createRedis } from './src/redis.ts';
    const redis = createRedis('redis://127.0.0.1:6379', createLogger({ LOG_LEVEL: 'error' }), 'test', { lazyConnect: true });
    const make = ${kind === 'own' ? '() => new Pipeline(redis).get("key")' : '() => redis.pipeline().get("key")'};
    let junk = [];
    for (let i = 0; i < 2000; i++) make();
    console.log('MEASURE');
    for (let i = 0; i < 20000; i++) {
      make();
      junk = Array.from({ length: 50 }, (_, k) => ({ k }));
    }
    console.log('DONE', junk.length);
    redis.disconnect();`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--trace-gc-nvp', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.stdout).toContain('DONE');
  const measured = run.stdout.slice(run.stdout.indexOf('MEASURE'), run.stdout.indexOf('DONE'));
  return [...measured.matchAll(/gc=s .*? promoted=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
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

  it('are freed by a scavenge once dropped, not promoted', () => {
    const own = promoted('own');
    const lean = promoted('lean');
    expect(own).toBeGreaterThan(1024 * 1024);
    // 48.5 MB against 3.5 MB here (what the process's own start promotes).
    expect(lean).toBeLessThan(own / 5);
  });
});
