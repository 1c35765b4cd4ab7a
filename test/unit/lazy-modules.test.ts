/**
 * Modules that only a configured feature needs (src/lazy-module.ts) are not loaded by a process that
 * does not use it: the api (buildApp) and the storage the worker makes, with the default configuration
 * (the local AI provider, local storage, tracing off), hold no AI provider SDK, no S3 client and no
 * OpenTelemetry SDK or exporter (the api's heap is about 11 MiB smaller, docs/benchmarks.md). Set
 * up, each is loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { featureModulesLoaded, importForFeature } from '../../src/lazy-module.js';
import { testEnv } from '../helpers/harness.js';

const OPTIONAL = [
  'openai',
  '@anthropic-ai/sdk',
  '@aws-sdk/client-s3',
  '@aws-sdk/s3-request-presigner',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/exporter-trace-otlp-http',
];

/** Runs `script` (ESM, under tsx) in a child and returns the packages of every module it loaded. */
function packagesLoaded(script: string, env: Record<string, string>): Set<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'dawg-imports-')), 'imports.txt');
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './test/helpers/record-imports.mjs', '--input-type=module', '-e', script],
    { env: { ...process.env, ...env, RECORD_IMPORTS: file }, encoding: 'utf8', timeout: 60_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  const packages = new Set<string>();
  for (const url of readFileSync(file, 'utf8').split('\n'))
    for (const m of url.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)) packages.add(m[1] as string);
  return packages;
}

const SETUP = `
  const { loadConfig } = await import('./src/config.ts');
  const { buildApp } = await import('./src/app.ts');
  const { createStorage } = await import('./src/storage/index.ts');
  const { startTracing } = await import('./src/tracing.ts');
  const config = loadConfig(JSON.parse(process.env.CONFIG_ENV));
  const app = buildApp(config);
  createStorage(config);
  await startTracing({ serviceName: 'test', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  await new Promise((r) => setTimeout(r, 500));
  process.exit(0);
`;

describe('modules a configured feature needs', () => {
  it('are not loaded with the default configuration (local provider and storage, no tracing)', () => {
    const loaded = packagesLoaded(SETUP, {
      CONFIG_ENV: JSON.stringify(testEnv({ AI_PROVIDERS: 'local', STORAGE_DRIVER: 'local' })),
    });
    expect(loaded.has('graphql-yoga')).toBe(true); // the recorder saw the app's own imports
    expect(OPTIONAL.filter((p) => loaded.has(p))).toEqual([]);
  }, 90_000);

  it('are loaded once the feature is set up', () => {
    const loaded = packagesLoaded(SETUP, {
      CONFIG_ENV: JSON.stringify(
        testEnv({
          AI_PROVIDERS: 'openai,anthropic,local',
          OPENAI_API_KEY: 'sk-test',
          ANTHROPIC_API_KEY: 'sk-ant-test',
          STORAGE_DRIVER: 's3',
          S3_BUCKET: 'dawg-test',
          S3_ENDPOINT: 'http://127.0.0.1:9',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        }),
      ),
    });
    expect(OPTIONAL.filter((p) => !loaded.has(p))).toEqual([]);
  }, 90_000);

  it('that fail to import fail the start (app and worker await featureModulesLoaded), and each use', async () => {
    const missing = 'dawg-no-such-package';
    const sdk = importForFeature(() => import(missing));
    await expect(featureModulesLoaded()).rejects.toThrow(missing);
    await expect(sdk).rejects.toThrow(missing);
  });
});
