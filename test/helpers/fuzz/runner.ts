/** Sends fuzz cases over plain node:http (to control chunking and Content-Length), a few at a time. */
import { Agent, request } from 'node:http';
import type { FuzzCase, Outcome, RawRequest } from './request.js';

const KEEP = 4096;
/** Responses are read in full (a bomb's answer is part of its cost) up to this size. */
const MAX_READ = 64 * 1024 * 1024;

export function send(base: string, req: RawRequest, agent: Agent, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Omit<Outcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...o, ms: Math.round(performance.now() - started) });
    };
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    const headers: Record<string, string | number> = { ...req.headers };
    if (body && !req.chunked) headers['content-length'] = body.length;
    const url = new URL(req.path, base);
    let r: ReturnType<typeof request>;
    try {
      r = request(url, { method: req.method, headers, agent });
    } catch (err) {
      // The client itself refuses (e.g. an invalid header character): nothing was sent.
      done({ status: null, codes: [], body: '', error: `client: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      done({ status: null, codes: [], body: '', error: `timeout after ${timeoutMs} ms` });
      r.destroy();
    }, timeoutMs);
    r.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_READ) parts.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        done({ status: res.statusCode ?? null, codes: codesOf(text), body: text.slice(0, KEEP) });
      });
      res.on('error', (err) =>
        done({
          status: res.statusCode ?? null,
          codes: codesOf(Buffer.concat(parts).toString('utf8')),
          body: '',
          error: err.message,
        }),
      );
    });
    r.on('error', (err: NodeJS.ErrnoException) => done({ status: null, codes: [], body: '', error: err.code ?? err.message }));
    if (body && req.chunked) {
      // 64 KB writes, honouring backpressure, so the server sees a stream rather than one buffer.
      let offset = 0;
      const pump = () => {
        while (offset < body.length) {
          const chunk = body.subarray(offset, offset + 65_536);
          offset += chunk.length;
          if (!r.write(chunk)) {
            r.once('drain', pump);
            return;
          }
        }
        r.end();
      };
      pump();
    } else r.end(body);
  });
}

/** Every extensions.code in a GraphQL answer (or answers, for a batch). */
export function codesOf(text: string): string[] {
  try {
    const json = JSON.parse(text) as unknown;
    const results = Array.isArray(json) ? json : [json];
    return results.flatMap((r) =>
      ((r as { errors?: { extensions?: { code?: string } }[] })?.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE'),
    );
  } catch {
    // Not JSON (or cut off): find the codes by pattern.
    return [...text.matchAll(/"code"\s*:\s*"([A-Z_]+)"/g)].map((m) => m[1] as string);
  }
}

export interface Result {
  c: FuzzCase;
  o: Outcome;
}

/**
 * Runs `cases` with at most `concurrency` in flight. After `deadline` (epoch ms) or once `alive()`
 * is false, the rest are not sent and come back with error "not run".
 */
export async function runCases(
  base: string,
  cases: FuzzCase[],
  opts: { concurrency: number; timeoutMs: number; deadline: number; alive: () => boolean },
): Promise<Result[]> {
  // A fresh connection per request: a kept-alive socket the server closes as it is reused reads as a reset.
  const agent = new Agent({ keepAlive: false, maxSockets: opts.concurrency });
  const results: Result[] = [];
  const lanes = new Map<string, Promise<void>>();
  /** Sends `c` once the case before it in its lane has its answer. */
  const inLane = async (c: FuzzCase): Promise<Outcome> => {
    if (!c.lane) return send(base, c.request, agent, opts.timeoutMs);
    const before = lanes.get(c.lane) ?? Promise.resolve();
    let release = () => {};
    lanes.set(
      c.lane,
      before.then(() => new Promise<void>((r) => (release = r))),
    );
    await before;
    try {
      return await send(base, c.request, agent, opts.timeoutMs);
    } finally {
      release();
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++] as FuzzCase;
      if (Date.now() > opts.deadline || !opts.alive()) {
        results.push({
          c,
          o: {
            status: null,
            ms: 0,
            codes: [],
            body: '',
            error: Date.now() > opts.deadline ? 'not run: time budget spent' : 'not run: api exited',
          },
        });
        continue;
      }
      const o = await inLane(c);
      results.push({ c, o });
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  agent.destroy();
  return results;
}
