/**
 * What every AI provider does for chat: stream a reply, and extract the
 * message's intent and entities as structured output. Implementations:
 * openai, anthropic, google (their official SDKs) and local (no key).
 */
export const PROVIDER_NAMES = ['openai', 'anthropic', 'google', 'local'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ReplyRequest {
  /** Instructions: who dawg is, the conversation's project and last generation, what was just started. */
  system: string;
  /** Recent turns, oldest first, ending with the user's message. */
  turns: Turn[];
  /** Text already streamed by a provider that failed mid-reply: continue after it, do not repeat it. */
  continueFrom?: string;
  /** The local provider's templated reply for this message (what was understood and started). */
  fallbackText: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** One streamed reply: text deltas, then the usage the provider reported (estimated when it did not). */
export type ReplyEvent = { type: 'text'; text: string } | { type: 'usage'; usage: Usage };

export interface IntentRequest {
  system: string;
  turns: Turn[];
}

export interface IntentAnswer {
  output: unknown;
  /** null when the provider reported none (then estimated from the text). */
  usage: Usage | null;
}

export interface ChatProvider {
  readonly name: ProviderName;
  readonly model: string;
  streamReply(req: ReplyRequest, signal: AbortSignal): AsyncIterable<ReplyEvent>;
  /** Raw JSON text (validated by the caller) or an already parsed object, and the usage the provider reported. */
  extractIntent(req: IntentRequest, signal: AbortSignal): Promise<IntentAnswer>;
}

/** A provider's HTTP failure, classified for metrics and fallback. */
export function classify(err: unknown): 'rate_limited' | 'timeout' | 'error' {
  const e = err as { status?: number; name?: string; message?: string };
  if (e?.status === 429 || /\b429\b|rate.?limit|quota/i.test(e?.message ?? '')) return 'rate_limited';
  if (e?.name === 'TimeoutError' || /timed? ?out/i.test(e?.message ?? '')) return 'timeout';
  return 'error';
}

/** Rough token count for providers that report none (the local one): ~4 characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
