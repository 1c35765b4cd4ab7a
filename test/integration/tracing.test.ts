/**
 * OpenTelemetry (src/tracing.ts): off by default; with a span processor, one trace runs from the
 * api's HTTP request through the GraphQL mutation and the queue (context in the job's data) into the
 * worker's attempt, its stages and the storage upload, and log lines carry its trace_id. With
 * OTEL_EXPORTER_OTLP_ENDPOINT set, a real api process exports its spans over OTLP/HTTP.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { contextFrom, inSpan, startTracing, type Tracing } from '../../src/tracing.js';
import { buildWorker } from '../../worker/worker.js';
import { gql, signUp, testConfig, until, rawId } from '../helpers/harness.js';
import { type ApiProcess, spawnApi } from '../helpers/process.js';
import { beatDone, queueFor, type Stack, startStack, waitFor } from '../helpers/stack.js';

/** A pino destination that keeps each JSON line. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

let tracing: Tracing | null = null;
const exporter = new InMemorySpanExporter();
let stack: Stack | null = null;
let worker: ReturnType<typeof buildWorker> | null = null;
let api: ApiProcess | null = null;
afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
  await api?.kill();
  await tracing?.shutdown();
});

describe('tracing', () => {
  it('is off without an endpoint: nothing is registered and spans do not record', async () => {
    const off = await startTracing({ serviceName: 'dawg-test' });
    expect(off.enabled).toBe(false);
    await inSpan('nothing', async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(trace.getActiveSpan()).toBeUndefined(); // no context manager: nothing is made active
    });
  });

  it('follows one generateBeat from the HTTP request through the queue into the worker stages and the upload', async () => {
    tracing = await startTracing({ serviceName: 'dawg-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(tracing.enabled).toBe(true);
    stack = await startStack({}, {}, { worker: false });
    const workerLog = capture();
    worker = buildWorker(testConfig(stack.env), { log: createLogger({ LOG_LEVEL: 'info' }, 'dawg-worker', workerLog.stream) });
    await worker.start();
    const user = await signUp(stack.api.graphqlUrl);
    exporter.reset();

    const beat = await beatDone(stack.api, user.token);
    expect(beat.status).toBe('COMPLETED');
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'generation.process'));

    const spans = exporter.getFinishedSpans();
    const queued = spans.find((s) => s.name === 'queue.add generation' && s.attributes['dawg.generation_id'] === rawId(beat.id));
    expect(queued).toBeDefined();
    const traceId = (queued as ReadableSpan).spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const parent = (s: ReadableSpan | undefined) => (s?.parentSpanContext ? byId.get(s.parentSpanContext.spanId) : undefined);
    const one = (name: string) => {
      const found = inTrace.filter((s) => s.name === name);
      expect(found.map((s) => s.name)).toEqual([name]);
      return found[0] as ReadableSpan;
    };

    // api: the HTTP request, its GraphQL mutation, the queued job.
    const http = one('POST /graphql');
    const mutation = one('graphql.mutation');
    expect(parent(mutation)).toBe(http);
    expect(parent(queued)).toBe(mutation);
    // worker: the attempt continues the queued job's context, read from the job's data.
    const attempt = one('generation.process');
    expect(parent(attempt)).toBe(queued);
    const stages = inTrace.filter((s) => s.name.startsWith('stage '));
    expect(stages.map((s) => s.name)).toEqual(
      expect.arrayContaining(['stage starting', 'stage composing', 'stage mastering', 'stage encoding', 'stage uploading']),
    );
    for (const s of stages) expect(parent(s)).toBe(attempt);
    const uploads = inTrace.filter((s) => s.name === 'storage.put');
    expect(uploads.length).toBeGreaterThan(0);
    for (const s of uploads) {
      expect(parent(s)).toBe(attempt);
      expect(s.attributes['dawg.storage.bytes']).toBeGreaterThan(0);
    }
    // Nothing in the trace was left open, and no span outside it claims a parent in it.
    for (const s of spans) if (s.parentSpanContext && byId.has(s.parentSpanContext.spanId)) expect(inTrace).toContain(s);

    // The worker's log line for the attempt carries the trace.
    const finished = workerLog.lines.find((l) => l.msg === 'generation finished' && l.generationId === rawId(beat.id));
    expect(finished).toMatchObject({ trace_id: traceId, span_id: attempt.spanContext().spanId });
  });

  it('keeps a plain X-Request-Id from the client, gives others a new one, and continues a traceparent it sends', async () => {
    if (!stack) throw new Error('needs the stack of the test before');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(stack.api.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'client-req-42',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('client-req-42');
    const continuedSpan = () =>
      exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && s.name === 'POST /graphql');
    await until(() => !!continuedSpan());
    const continued = continuedSpan();
    expect(continued).toMatchObject({ name: 'POST /graphql', attributes: { 'dawg.request_id': 'client-req-42' } });
    expect(continued?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    const bad = await fetch(`${stack.api.url}/health`, { headers: { 'x-request-id': 'no spaces or <tags>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const log = capture();
    const lines = createLogger({ LOG_LEVEL: 'info' }, 'dawg', log.stream);
    await inSpan('logged', async (span) => {
      lines.info('inside');
      expect(log.lines[0]).toMatchObject({
        msg: 'inside',
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
      });
    });
    lines.info('outside');
    expect(log.lines[1]).not.toHaveProperty('trace_id');
    // A request's id travels in its context (front.ts), so every line written while it runs has it.
    await inSpan('a request', async () => lines.info('in a request'), { parent: contextFrom(undefined, 'rid-7') });
    expect(log.lines[2]).toMatchObject({ msg: 'in a request', request_id: 'rid-7' });
  });

  it("carries only the trace context into the job: a client's 2 KB of W3C baggage neither rides along nor fails it", async () => {
    if (!stack) throw new Error('needs the stack of the test before');
    const user = await signUp(stack.api.graphqlUrl);
    const res = await gql(
      stack.api.graphqlUrl,
      'mutation($input: GenerateBeatInput!) { generateBeat(input: $input) { id } }',
      { input: { genre: 'lofi', bpm: 90, key: 'A minor', durationSec: 5 } },
      user.token,
      { baggage: `userId=alice,blob=${'x'.repeat(2000)}` },
    );
    expect(res.errors).toBeUndefined();
    const id = res.data.generateBeat.id as string;
    const { queue, close } = queueFor(stack);
    try {
      const job = await queue.getJob(rawId(id));
      expect(Object.keys((job?.data as { trace?: object } | undefined)?.trace ?? {})).toEqual(['traceparent']);
    } finally {
      await close();
    }
    expect((await waitFor(stack.api, user.token, id)).status).toBe('COMPLETED');
  });

  it("makes a response cache hit's operation span too: the hit is given inside the execution's wrappers", async () => {
    if (!stack) throw new Error('needs the stack of the test before');
    const { api } = stack;
    const user = await signUp(api.graphqlUrl);
    const ME = '{ me { id email } }';
    const hits = async () =>
      Number(
        /^dawg_graphql_response_cache_total\{[^}]*outcome="hit"[^}]*\} (\d+)/m.exec(
          await (await fetch(`${api.url}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    // Nothing is cached until the api listens for the database's writes: ask until a hit is counted.
    await until(async () => {
      const before = await hits();
      await gql(api.graphqlUrl, ME, {}, user.token);
      return (await hits()) > before;
    });
    exporter.reset();
    const before = await hits();
    await gql(api.graphqlUrl, ME, {}, user.token);
    expect(await hits()).toBe(before + 1);
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'graphql.query'));
    const spans = exporter.getFinishedSpans();
    const queries = spans.filter((s) => s.name === 'graphql.query');
    expect(queries).toHaveLength(1);
    const http = spans.find((s) => s.spanContext().spanId === queries[0]?.parentSpanContext?.spanId);
    expect(http?.name).toBe('POST /graphql');
  });

  it('exports over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (a real api process, a loopback collector)', async () => {
    const received: { path: string; body: string }[] = [];
    const collector = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    try {
      const port = (collector.address() as AddressInfo).port;
      api = await spawnApi({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_BSP_SCHEDULE_DELAY: '200' });
      expect(api.output()).toContain('tracing: exporting spans over OTLP/HTTP');
      await fetch(`${api.url}/health`);
      await until(() => received.some((r) => r.body.includes('GET /health')), 10_000);
      const batch = received.find((r) => r.body.includes('GET /health')) as { path: string; body: string };
      expect(batch.path).toBe('/v1/traces');
      const json = JSON.parse(batch.body);
      const resource = json.resourceSpans[0].resource.attributes as { key: string; value: { stringValue?: string } }[];
      expect(resource.find((a) => a.key === 'service.name')?.value.stringValue).toBe('dawg-api');
    } finally {
      await api?.kill();
      api = null;
      collector.close();
    }
  });
});
