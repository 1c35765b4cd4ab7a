/** OpenAI chat completions through the official SDK (also any OpenAI-compatible server via baseURL). */
import type OpenAI from 'openai';
import { importForFeature } from '../../../lazy-module.js';
import type { ChatProvider, IntentRequest, ReplyEvent, ReplyRequest } from './types.js';
import { continuationTurns } from './prompts.js';

export interface OpenAIOptions {
  apiKey: string;
  model: string;
  baseURL?: string;
}

export function openaiProvider({ apiKey, model, baseURL }: OpenAIOptions): ChatProvider {
  // Retries and timeouts are the router's job (it falls back instead of waiting).
  const sdk: Promise<OpenAI> = importForFeature(async () => {
    const { default: OpenAI } = await import('openai');
    return new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  });
  return {
    name: 'openai',
    model,
    async *streamReply(req: ReplyRequest, signal: AbortSignal): AsyncIterable<ReplyEvent> {
      const client = await sdk;
      const stream = await client.chat.completions.create(
        {
          model,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'system', content: req.system }, ...continuationTurns(req)],
        },
        { signal },
      );
      for await (const part of stream) {
        const text = part.choices[0]?.delta?.content;
        if (text) yield { type: 'text', text };
        if (part.usage)
          yield {
            type: 'usage',
            usage: { promptTokens: part.usage.prompt_tokens, completionTokens: part.usage.completion_tokens },
          };
      }
    },
    async extractIntent(req: IntentRequest, signal: AbortSignal) {
      const client = await sdk;
      const res = await client.chat.completions.create(
        {
          model,
          response_format: { type: 'json_object' },
          messages: [{ role: 'system', content: req.system }, ...req.turns],
        },
        { signal },
      );
      const usage = res.usage ? { promptTokens: res.usage.prompt_tokens, completionTokens: res.usage.completion_tokens } : null;
      return { output: res.choices[0]?.message?.content ?? '', usage };
    },
  };
}
