import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig, parseConfig } from '../../src/config.js';

describe('config', () => {
  it('.env.example lists exactly the variables the config reads', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    const schemaKeys = Object.keys(configSchema.in.shape).sort();
    expect(listed).toEqual(schemaKeys);
  });

  it('gives working defaults with an empty environment', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ PORT: 4000, REDIS_PREFIX: 'dawg:', JWT_TTL_SECONDS: 86_400, MIGRATE_ON_START: true });
    // No built-in signing secret: the entry points generate one per install (src/secrets.ts).
    expect(config.JWT_SECRET).toBeUndefined();
    expect(() => loadConfig({})).toThrow(/JWT_SECRET: is not set/);
  });

  it('takes a Redis prefix with a whole hash tag, and refuses a brace left open', () => {
    expect(parseConfig({ REDIS_PREFIX: 'dawg{eu}:' }).REDIS_PREFIX).toBe('dawg{eu}:');
    for (const prefix of ['dawg{', 'dawg}:', 'a{}:', 'a{b{c}}'])
      expect(() => parseConfig({ REDIS_PREFIX: prefix }), prefix).toThrow(/REDIS_PREFIX: each "\{" must be closed/);
  });

  it('refuses cost limits that would refuse every logIn and signUp', () => {
    expect(() => parseConfig({ GRAPHQL_MAX_COST: '599' })).toThrow(/GRAPHQL_MAX_COST: must be at least 600/);
    expect(() => parseConfig({ GRAPHQL_MAX_COST: '5000', GRAPHQL_COST_PER_MINUTE: '4000' })).toThrow(
      /GRAPHQL_COST_PER_MINUTE: must be at least GRAPHQL_MAX_COST/,
    );
    expect(parseConfig({ GRAPHQL_MAX_COST: '600', GRAPHQL_COST_PER_MINUTE: '600' }).GRAPHQL_MAX_COST).toBe(600);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ PORT: '-1', REDIS_URL: 'http://nope', JWT_SECRET: 'short', GRAPHIQL: 'maybe' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const fields = (err as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(fields.sort()).toEqual(['GRAPHIQL', 'JWT_SECRET', 'PORT', 'REDIS_URL']);
    }
  });

  it('reads the read replicas as a list of postgresql:// URLs, none by default', () => {
    expect(parseConfig({}).DATABASE_REPLICA_URL).toEqual([]);
    expect(parseConfig({}).DATABASE_REPLICA_MAX_LAG_MS).toBe(10_000);
    const two = parseConfig({ DATABASE_REPLICA_URL: 'postgresql://r1:5433/dawg, postgres://u:p@r2/dawg?sslmode=require' });
    expect(two.DATABASE_REPLICA_URL).toEqual(['postgresql://r1:5433/dawg', 'postgres://u:p@r2/dawg?sslmode=require']);
    expect(() => parseConfig({ DATABASE_REPLICA_URL: 'postgresql://r1/dawg,r2:5433' })).toThrow(
      /DATABASE_REPLICA_URL: must be postgresql:\/\/ URLs, comma-separated/,
    );
  });

  it('reads the Redis mode: Sentinel needs its sentinels, as host:port pairs', () => {
    expect(parseConfig({}).REDIS_MODE).toBe('single');
    const sentinel = parseConfig({ REDIS_MODE: 'sentinel', REDIS_SENTINELS: '127.0.0.1:26390, redis-s2:26391' });
    expect(sentinel.REDIS_SENTINELS).toEqual([
      { host: '127.0.0.1', port: 26390 },
      { host: 'redis-s2', port: 26391 },
    ]);
    expect(sentinel.REDIS_SENTINEL_MASTER).toBe('mymaster');
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ REDIS_MODE: 'sentinel' })).toEqual(['REDIS_SENTINELS: is required when REDIS_MODE=sentinel']);
    expect(problems({ REDIS_MODE: 'sentinel', REDIS_SENTINELS: '127.0.0.1' })[0]).toMatch(
      /^REDIS_SENTINELS: must be host:port pairs/,
    );
    expect(problems({ REDIS_MODE: 'cluster' })).toEqual(['REDIS_CLUSTER_NODES: is required when REDIS_MODE=cluster']);
    expect(problems({ CHAT_FRAME_MS: '50', CHAT_FRAME_MAX_MS: '40' })).toEqual([
      'CHAT_FRAME_MAX_MS: must be at least CHAT_FRAME_MS (50); set it equal to keep frames that long under load too',
    ]);
    // Unset, the longest frame is four of the shortest: 0 (every piece its own event) stays 0.
    expect(parseConfig({}).CHAT_FRAME_MAX_MS).toBe(120);
    expect(parseConfig({ CHAT_FRAME_MS: '0' }).CHAT_FRAME_MAX_MS).toBe(0);
    expect(parseConfig({ CHAT_FRAME_MS: '50', CHAT_FRAME_MAX_MS: '50' }).CHAT_FRAME_MAX_MS).toBe(50);
    expect(
      parseConfig({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' }).REDIS_CLUSTER_NODES,
    ).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ]);
    expect(problems({ REDIS_MODE: 'shards' })[0]).toMatch(/^REDIS_MODE: must be single, sentinel or cluster/);
  });

  it('reads the AI provider order and prices, naming what it cannot use', () => {
    const config = parseConfig({ AI_PROVIDERS: ' Anthropic , local ', AI_PRICES: '{"my-model":{"input":1,"output":2}}' });
    expect(config.AI_PROVIDERS).toEqual(['anthropic', 'local']);
    expect(config.AI_PRICES).toMatchObject({ 'my-model': { input: 1, output: 2 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 } });
    expect(parseConfig({}).AI_PROVIDERS).toEqual(['local']);
    expect(() => loadConfig({ AI_PROVIDERS: 'openai,gpt5', AI_PRICES: '{bad' })).toThrow(
      /AI_PROVIDERS: unknown provider gpt5 \(use openai, anthropic, google, local\)[\s\S]*AI_PRICES: must be JSON/,
    );
    expect(() => loadConfig({ AI_PRICES: '{"m":{"input":-1,"output":2}}' })).toThrow(/AI_PRICES/);
  });

  it('demands real JWT and file-signing secrets in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET: is required[\s\S]*FILES_SIGNING_SECRET: is required/,
    );
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) })).toThrow(/FILES_SIGNING_SECRET: is required/);
    const both = { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), FILES_SIGNING_SECRET: 'f'.repeat(40) };
    expect(loadConfig(both).JWT_SECRET).toBe('p'.repeat(40));
  });
});
