/** Anthropic messages through the official SDK. */
import type Anthropic from '@anthropic-ai/sdk';
import { importForFeature } from '../../../lazy-module.js';
import type { ChatProvider, IntentRequest, ReplyEvent, ReplyRequest } from './types.js';

export interface AnthropicOptions {
  apiKey: string;
  model: string;
  baseURL?: string;
  maxTokens?: number;
}

export function anthropicProvider({ apiKey, model, baseURL, maxTokens = 1024 }: AnthropicOptions): ChatProvider {
  const sdk: Promise<Anthropic> = importForFeature(async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    return new Anthropic({ apiKey, baseURL, maxRetries: 0 });
  });
  return {
    name: 'anthropic',
    model,
    async *streamReply(req: ReplyRequest, signal: AbortSignal): AsyncIterable<ReplyEvent> {
      // A reply cut off elsewhere is continued by prefilling it as the assistant's turn.
      const turns = req.continueFrom
        ? [...req.turns, { role: 'assistant' as const, content: req.continueFrom.trimEnd() }]
        : req.turns;
      const client = await sdk;
      const stream = await client.messages.create(
        { model, max_tokens: maxTokens, system: req.system, messages: turns, stream: true },
        { signal },
      );
      let promptTokens = 0;
      for await (const event of stream) {
        if (event.type === 'message_start') promptTokens = event.message.usage.input_tokens;
        else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          yield { type: 'text', text: event.delta.text };
        else if (event.type === 'message_delta')
          yield { type: 'usage', usage: { promptTokens, completionTokens: event.usage.output_tokens } };
      }
    },
    async extractIntent(req: IntentRequest, signal: AbortSignal) {
      const client = await sdk;
      const res = await client.messages.create({ model, max_tokens: 300, system: req.system, messages: req.turns }, { signal });
      const output = res.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      return { output, usage: { promptTokens: res.usage.input_tokens, completionTokens: res.usage.output_tokens } };
    },
  };
}
