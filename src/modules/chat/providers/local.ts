/** The default provider: no key, no network. Intent from the local parser, replies from templates. */
import { parseMessage } from '../intent-parser.js';
import { chunk } from '../reply.js';
import { type ChatProvider, estimateTokens, type IntentRequest, type ReplyEvent, type ReplyRequest } from './types.js';

export function localProvider(chunkDelayMs: number): ChatProvider {
  return {
    name: 'local',
    model: 'local-templates',
    async *streamReply(req: ReplyRequest, signal: AbortSignal): AsyncIterable<ReplyEvent> {
      let text = req.fallbackText;
      // Taking over a reply another provider started: never repeat what the user already has.
      if (req.continueFrom) text = text.startsWith(req.continueFrom) ? text.slice(req.continueFrom.length) : `\n\n${text}`;
      for (const [i, part] of chunk(text).entries()) {
        if (i && chunkDelayMs) await new Promise((r) => setTimeout(r, chunkDelayMs));
        signal.throwIfAborted();
        yield { type: 'text', text: part };
      }
      const prompt = req.turns.at(-1)?.content ?? '';
      yield { type: 'usage', usage: { promptTokens: estimateTokens(prompt), completionTokens: estimateTokens(text) } };
    },
    async extractIntent(req: IntentRequest) {
      return { output: parseMessage(req.turns.at(-1)?.content ?? ''), usage: null };
    },
  };
}
