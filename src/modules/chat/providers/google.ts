/** Google Gemini through the official SDK (streamGenerateContent over SSE). */
import { GoogleGenerativeAI } from '@google/generative-ai';
import type { ChatProvider, IntentRequest, ReplyEvent, ReplyRequest, Turn } from './types.js';
import { continuationTurns } from './prompts.js';

export interface GoogleOptions {
  apiKey: string;
  model: string;
  baseUrl?: string;
}

const contents = (turns: Turn[]) =>
  turns.map((t) => ({ role: t.role === 'assistant' ? 'model' : 'user', parts: [{ text: t.content }] }));

export function googleProvider({ apiKey, model, baseUrl }: GoogleOptions): ChatProvider {
  const genAI = new GoogleGenerativeAI(apiKey);
  const modelFor = (systemInstruction: string, json = false) =>
    genAI.getGenerativeModel(
      { model, systemInstruction, ...(json ? { generationConfig: { responseMimeType: 'application/json' } } : {}) },
      { baseUrl },
    );
  return {
    name: 'google',
    model,
    async *streamReply(req: ReplyRequest, signal: AbortSignal): AsyncIterable<ReplyEvent> {
      const { stream } = await modelFor(req.system).generateContentStream(
        { contents: contents(continuationTurns(req)) },
        { signal },
      );
      let usage: { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
      for await (const part of stream) {
        const text = part.candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('') ?? '';
        if (text) yield { type: 'text', text };
        if (part.usageMetadata) usage = part.usageMetadata;
      }
      if (usage)
        yield {
          type: 'usage',
          usage: { promptTokens: usage.promptTokenCount ?? 0, completionTokens: usage.candidatesTokenCount ?? 0 },
        };
    },
    async extractIntent(req: IntentRequest, signal: AbortSignal) {
      const res = await modelFor(req.system, true).generateContent({ contents: contents(req.turns) }, { signal });
      const meta = res.response.usageMetadata;
      const usage = meta ? { promptTokens: meta.promptTokenCount ?? 0, completionTokens: meta.candidatesTokenCount ?? 0 } : null;
      return { output: res.response.text(), usage };
    },
  };
}
