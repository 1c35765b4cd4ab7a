/**
 * A loopback HTTP server that speaks the three providers' wire formats, so the
 * real SDKs can be tested without the network: OpenAI chat completions (JSON
 * and SSE chunks), Anthropic messages (JSON and SSE events), Gemini
 * generateContent / streamGenerateContent (JSON and SSE). Each provider follows
 * a script: answer, fail with a status, wait before the first token, or drop
 * the connection mid-stream. Every request is logged in arrival order.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMessage } from '../../src/modules/chat/intent-parser.js';

export type FakeProvider = 'openai' | 'anthropic' | 'google';

export interface Behavior {
  /** Reply text, streamed in pieces of `pieceSize` characters. */
  text?: string;
  /** Answer with this HTTP status and the provider's error body instead. */
  status?: number;
  /** Wait this long before the response starts (a slow first token). */
  delayMs?: number;
  /** Send this many pieces, then destroy the socket (a mid-stream drop). */
  dropAfter?: number;
  /** The intent JSON to answer an intent request with (default: what the local parser reads). */
  intent?: unknown;
  pieceSize?: number;
}

export interface LoggedRequest {
  provider: FakeProvider;
  kind: 'intent' | 'reply';
  body: Record<string, unknown>;
}

export interface FakeAi {
  url: string;
  /** Base URLs to put in OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GOOGLE_BASE_URL. */
  env: Record<string, string>;
  requests: LoggedRequest[];
  /** Sets what a provider does for replies (and, with `intent`, for intent requests) until changed. */
  script(provider: FakeProvider, reply: Behavior, intent?: Behavior): void;
  reset(): void;
  close(): Promise<void>;
}

const USAGE = { prompt: 42, completion: 17 };

export async function startFakeAi(port = 0): Promise<FakeAi> {
  const replies = new Map<FakeProvider, Behavior>();
  const intents = new Map<FakeProvider, Behavior>();
  const requests: LoggedRequest[] = [];

  const server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
    const url = req.url ?? '';
    const provider: FakeProvider | null = url.startsWith('/openai/')
      ? 'openai'
      : url.startsWith('/anthropic/')
        ? 'anthropic'
        : url.startsWith('/google/')
          ? 'google'
          : null;
    if (!provider) return void res.writeHead(404).end();
    const stream = provider === 'google' ? url.includes(':streamGenerateContent') : body.stream === true;
    const kind = stream ? 'reply' : 'intent';
    requests.push({ provider, kind, body });
    const behavior = (kind === 'reply' ? replies : intents).get(provider) ?? {};
    if (behavior.delayMs) await sleep(behavior.delayMs);
    if (behavior.status) return sendError(res, provider, behavior.status);
    if (kind === 'intent') {
      const text = JSON.stringify(behavior.intent ?? parseMessage(lastUserText(provider, body)));
      return sendJson(res, intentBody(provider, text));
    }
    const text = behavior.text ?? `(${provider}, loopback fake) ${actionOf(provider, body)}`;
    const size = behavior.pieceSize ?? 6;
    const pieces = text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string | null, data: unknown) =>
      res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    if (provider === 'anthropic')
      send('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          content: [],
          model: body.model,
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: USAGE.prompt, output_tokens: 1 },
        },
      });
    if (provider === 'anthropic')
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    for (const [i, piece] of pieces.entries()) {
      if (behavior.dropAfter !== undefined && i === behavior.dropAfter) {
        await sleep(20);
        return void res.socket?.destroy();
      }
      if (provider === 'openai')
        send(null, {
          id: 'chatcmpl-fake',
          object: 'chat.completion.chunk',
          created: 0,
          model: body.model,
          choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
        });
      else if (provider === 'anthropic')
        send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
      else send(null, { candidates: [{ content: { role: 'model', parts: [{ text: piece }] }, index: 0 }] });
      await sleep(5);
    }
    if (provider === 'openai') {
      send(null, {
        id: 'chatcmpl-fake',
        object: 'chat.completion.chunk',
        created: 0,
        model: body.model,
        choices: [],
        usage: {
          prompt_tokens: USAGE.prompt,
          completion_tokens: USAGE.completion,
          total_tokens: USAGE.prompt + USAGE.completion,
        },
      });
      send(null, '[DONE]');
    } else if (provider === 'anthropic') {
      send('content_block_stop', { type: 'content_block_stop', index: 0 });
      send('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: USAGE.completion },
      });
      send('message_stop', { type: 'message_stop' });
    } else {
      send(null, {
        candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: {
          promptTokenCount: USAGE.prompt,
          candidatesTokenCount: USAGE.completion,
          totalTokenCount: USAGE.prompt + USAGE.completion,
        },
      });
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    env: {
      OPENAI_BASE_URL: `${url}/openai/v1`,
      ANTHROPIC_BASE_URL: `${url}/anthropic`,
      GOOGLE_BASE_URL: `${url}/google`,
    },
    requests,
    script(provider, reply, intent) {
      replies.set(provider, reply);
      if (intent) intents.set(provider, intent);
    },
    reset() {
      replies.clear();
      intents.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function sendJson(res: ServerResponse, body: unknown, status = 200) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, provider: FakeProvider, status: number) {
  const message = status === 429 ? 'Rate limit exceeded' : 'The server had an error';
  if (provider === 'openai') return sendJson(res, { error: { message, type: 'server_error', code: null } }, status);
  if (provider === 'anthropic')
    return sendJson(res, { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } }, status);
  return sendJson(res, { error: { code: status, message, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } }, status);
}

/** What dawg's instructions say it just did for the message (the last line of the reply prompt). */
function actionOf(provider: FakeProvider, body: Record<string, unknown>): string {
  const system =
    provider === 'openai'
      ? ((body.messages as { role: string; content: string }[]).find((m) => m.role === 'system')?.content ?? '')
      : provider === 'anthropic'
        ? String(body.system ?? '')
        : ((body.systemInstruction as { parts?: { text: string }[] } | undefined)?.parts?.[0]?.text ?? '');
  return /What the app just did for this message: (.*)$/s.exec(system)?.[1]?.trim() ?? 'Hello from the fake.';
}

/** The newest user turn of a request, in each provider's request shape. */
function lastUserText(provider: FakeProvider, body: Record<string, unknown>): string {
  if (provider === 'google') {
    const contents = body.contents as { role: string; parts: { text: string }[] }[];
    return contents.filter((c) => c.role === 'user').at(-1)?.parts[0]?.text ?? '';
  }
  const messages = body.messages as { role: string; content: string }[];
  return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

function intentBody(provider: FakeProvider, text: string) {
  if (provider === 'openai')
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 0,
      model: 'fake',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: USAGE.prompt, completion_tokens: 20, total_tokens: USAGE.prompt + 20 },
    };
  if (provider === 'anthropic')
    return {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model: 'fake',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: USAGE.prompt, output_tokens: 20 },
    };
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: USAGE.prompt, candidatesTokenCount: 20, totalTokenCount: USAGE.prompt + 20 },
  };
}
