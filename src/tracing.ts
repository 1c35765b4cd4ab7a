/**
 * OpenTelemetry tracing, the one module that knows it. A mutation's trace runs from the api's HTTP
 * request through the GraphQL operation and the queue (W3C trace context travels in the job's data)
 * into the worker's job, its stages and the storage upload.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes its own span processor): then no
 * provider, context manager or propagator is registered, every span is the API's non-recording
 * no-op, and nothing is exported. When on, spans go to the OTLP/HTTP exporter in batches; the
 * exporter reads the standard OTEL_EXPORTER_OTLP_* variables (headers, timeout) itself.
 */
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-node';

export { SpanKind, type Span };

/** Trace context as it travels in a job's data: W3C `traceparent` (and `tracestate`), nothing else. */
export type TraceCarrier = Record<string, string>;
const CARRIED = ['traceparent', 'tracestate'];

const REQUEST_ID = createContextKey('dawg.request_id');

export interface Tracing {
  enabled: boolean;
  /** Exports what is buffered and stops (at process shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing for this process when `endpoint` is set (OTEL_EXPORTER_OTLP_ENDPOINT) or
 * `spanProcessors` are given (tests: an in-memory exporter). Call once, before serving. The SDK and
 * the exporter are loaded only then (src/lazy-module.ts): with tracing off only the API is.
 */
export async function startTracing(opts: {
  serviceName: string;
  endpoint?: string;
  spanProcessors?: SpanProcessor[];
}): Promise<Tracing> {
  const url = opts.endpoint && `${opts.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const given = opts.spanProcessors;
  if (given ? !given.length : !url) return { enabled: false, shutdown: async () => {} };
  const [{ BatchSpanProcessor, NodeTracerProvider }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ]);
  const processors = given ?? [
    new BatchSpanProcessor(new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })),
  ];
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: processors,
  });
  // Global tracer provider, AsyncLocalStorage context manager, W3C trace-context propagator.
  provider.register();
  return { enabled: true, shutdown: () => provider.shutdown() };
}

const tracer = () => trace.getTracer('dawg');

/**
 * Runs `fn` in a new span, active for everything it awaits, child of `parent` (default: the active
 * context). A throw marks the span as an error and is rethrown. A no-op when tracing is off.
 */
export function inSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T>,
  opts: { attributes?: Attributes; kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  return tracer().startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes },
    opts.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** A span that is not made active (a stage: it ends when the next one starts); child of the active context. */
export function startSpan(name: string, attributes?: Attributes): Span {
  return tracer().startSpan(name, { attributes }, context.active());
}

/** The active trace context as W3C headers, for a job's data; undefined when there is none. */
export function traceCarrier(): TraceCarrier | undefined {
  const injected: TraceCarrier = {};
  propagation.inject(context.active(), injected);
  // Only the trace context: a client's W3C baggage (up to 8 KB) must not ride along into the job.
  const carrier = Object.fromEntries(CARRIED.filter((k) => injected[k]).map((k) => [k, injected[k] as string]));
  return Object.keys(carrier).length ? carrier : undefined;
}

/**
 * The context a carrier (job data, or an incoming request's headers) continues, carrying
 * `requestId` for the log lines written within it (traceFields).
 */
export function contextFrom(carrier: Record<string, string | string[] | undefined> | undefined, requestId?: string): Context {
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  return requestId ? parent.setValue(REQUEST_ID, requestId) : parent;
}

/**
 * For log lines (pino's mixin): the active span's trace and span ids and the request's id, when
 * there is an active context (tracing on; off, there is none, and this costs one lookup).
 */
export function traceFields(): { trace_id?: string; span_id?: string; request_id?: string } {
  const active = context.active();
  const span = trace.getSpanContext(active);
  const requestId = active.getValue(REQUEST_ID) as string | undefined;
  return {
    ...(span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}
