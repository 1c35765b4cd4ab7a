/**
 * Tries the configured providers in order. A provider that errors,
 * rate-limits or times out (first token, total) is skipped for this request;
 * after repeated failures its circuit opens and it is skipped for a cool-down.
 * A reply that fails mid-stream is continued by the next provider without
 * repeating what was already sent. Every attempt is counted.
 */
import { type FailureReason, failureReason } from '../../../failures.js';
import type { Logger } from '../../../logger.js';
import { aiModelLabel, type Metrics } from '../../../metrics.js';
import { type ParsedMessage } from '../intent-parser.js';
import { mergeIntent } from './prompts.js';
import {
  type ChatProvider,
  classify,
  estimateTokens,
  type IntentRequest,
  type ProviderName,
  type ReplyRequest,
  type Usage,
} from './types.js';
import { withFields } from '../../../with-fields.js';

/** USD per million tokens. */
export type PriceTable = Record<string, { input: number; output: number }>;

export interface RouterOptions {
  /** The local provider, for replies when remote providers are skipped (it needs no key or network). */
  local: ChatProvider;
  providers: ChatProvider[];
  firstTokenTimeoutMs: number;
  totalTimeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  prices: PriceTable;
  metrics: Pick<Metrics, 'aiAttempts' | 'aiAttemptDuration' | 'aiTokens' | 'aiCost'>;
  log: Logger;
  now?: () => number;
}

export type Outcome = 'ok' | 'error' | 'rate_limited' | 'timeout' | 'invalid_output' | 'circuit_open';

export interface Attempt {
  provider: ProviderName;
  outcome: Outcome;
  ms: number;
  reason?: string;
}

export interface RouteOptions {
  /** Remote providers are skipped (the caller is past AI_USER_MONTHLY_BUDGET_USD). */
  localOnly?: boolean;
}

export interface IntentResult {
  parsed: ParsedMessage;
  provider: ProviderName;
  /** The model whose reading was used; null when it was the local parser's. */
  model: string | null;
  /** Tokens of every remote intent attempt (reported, else estimated), and what they cost (USD). */
  usage: Usage;
  cost: number;
}

export interface ReplyResult {
  provider: ProviderName;
  model: string;
  text: string;
  usage: Usage;
  cost: number;
  attempts: Attempt[];
}

export class AllProvidersFailed extends Error {
  constructor(
    readonly attempts: Attempt[],
    readonly text: string,
    readonly usage: Usage,
    readonly cost: number,
  ) {
    const why = attempts.map((a) => `${a.provider}: ${a.reason ?? a.outcome}`).join('; ');
    super(attempts.length ? `No AI provider could answer (${why})` : 'No AI provider is configured');
    this.name = 'AllProvidersFailed';
  }

  /**
   * What the client reads in Message.error: the providers tried, not what they said (HTTP bodies,
   * status codes and timeouts are in this error's message, which goes to the logs and metrics).
   */
  get reason(): FailureReason {
    const tried = [...new Set(this.attempts.map((a) => a.provider))];
    return failureReason(
      'PROVIDERS_UNAVAILABLE',
      tried.length ? `no AI provider could answer (tried ${tried.join(', ')}), ask again` : 'no AI provider is configured',
    );
  }
}

class DeliveryFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('the reply could not be delivered');
  }
}

class Timeout extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export class ProviderRouter {
  private readonly circuits = new Map<ProviderName, { failures: number; openUntil: number }>();
  private readonly now: () => number;
  private readonly modelLabel: (model: string) => string;

  constructor(private readonly opts: RouterOptions) {
    this.now = opts.now ?? Date.now;
    this.modelLabel = aiModelLabel([...Object.keys(opts.prices), opts.local.model, ...opts.providers.map((p) => p.model)]);
  }

  get providers(): readonly ChatProvider[] {
    return this.opts.providers;
  }

  /** The providers to try, in order: only the local one for a caller past their AI budget. */
  private route(opts: RouteOptions): readonly ChatProvider[] {
    if (!opts.localOnly) return this.opts.providers;
    return [this.opts.providers.find((p) => p.name === 'local') ?? this.opts.local];
  }

  /** Whether a remote provider may answer (the local one reads no conversation context). */
  get usesContext(): boolean {
    return this.opts.providers[0]?.name !== 'local';
  }

  /**
   * The message's intent: the first provider that returns valid structured output, else the local
   * parser's. Every remote answer is billed, a rejected one too (its tokens were spent): `usage` and
   * `cost` are the call's total, `model` the model that gave the reading (null for the local parser).
   */
  async extractIntent(req: IntentRequest, local: ParsedMessage, opts: RouteOptions = {}): Promise<IntentResult> {
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let cost = 0;
    const result = (parsed: ParsedMessage, p: ChatProvider | null): IntentResult => ({
      parsed,
      provider: p?.name ?? 'local',
      model: p ? p.model : null,
      usage,
      cost,
    });
    for (const p of this.route(opts)) {
      if (p.name === 'local') return result(local, null);
      if (this.isOpen(p)) {
        this.record(p, 'intent', 'circuit_open', 0);
        continue;
      }
      const started = this.now();
      const ac = new AbortController();
      // One short JSON answer that sendMessage waits for: it gets the first-token timeout, not the reply's total.
      const limit = this.opts.firstTokenTimeoutMs;
      const timer = setTimeout(() => ac.abort(new Timeout('intent', limit)), limit);
      try {
        const answer = await p.extractIntent(req, ac.signal);
        const text = typeof answer.output === 'string' ? answer.output : JSON.stringify(answer.output ?? '');
        cost += this.bill(
          p,
          usage,
          answer.usage ?? {
            promptTokens: estimateTokens(req.system + req.turns.map((t) => t.content).join('\n')),
            completionTokens: estimateTokens(text),
          },
        );
        let parsed: ParsedMessage;
        try {
          parsed = mergeIntent(answer.output, local);
        } catch (err) {
          this.fail(p, 'intent', 'invalid_output', started, err);
          continue;
        }
        this.succeed(p, 'intent', started);
        return result(parsed, p);
      } catch (err) {
        this.fail(p, 'intent', ac.signal.aborted ? 'timeout' : classify(err), started, err);
      } finally {
        clearTimeout(timer);
      }
    }
    // Understanding a message never depends on a remote model: the local parser always answers.
    return result(local, null);
  }

  /** Streams a reply through the first provider that can give one; `onText` receives each new piece once. */
  async streamReply(req: ReplyRequest, onText: (text: string) => Promise<void>, opts: RouteOptions = {}): Promise<ReplyResult> {
    const attempts: Attempt[] = [];
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let cost = 0;
    let sent = '';
    const promptEstimate = estimateTokens(req.system + req.turns.map((t) => t.content).join('\n'));
    for (const p of this.route(opts)) {
      if (this.isOpen(p)) {
        attempts.push({ provider: p.name, outcome: 'circuit_open', ms: 0, reason: 'skipped after repeated failures' });
        this.record(p, 'reply', 'circuit_open', 0);
        continue;
      }
      const started = this.now();
      const before = sent;
      const ac = new AbortController();
      const total = setTimeout(() => ac.abort(new Timeout('reply', this.opts.totalTimeoutMs)), this.opts.totalTimeoutMs);
      let firstToken: NodeJS.Timeout | undefined = setTimeout(
        () => ac.abort(new Timeout('first token', this.opts.firstTokenTimeoutMs)),
        this.opts.firstTokenTimeoutMs,
      );
      let reported: Usage | null = null;
      const dedupe = new RepeatFilter(before);
      try {
        for await (const ev of p.streamReply(withFields(req, { continueFrom: before || undefined }), ac.signal)) {
          ac.signal.throwIfAborted();
          if (ev.type === 'usage') {
            reported = ev.usage;
            continue;
          }
          clearTimeout(firstToken);
          firstToken = undefined;
          const fresh = dedupe.push(ev.text);
          if (fresh) {
            sent += fresh;
            await onText(fresh).catch((cause) => {
              throw new DeliveryFailed(cause);
            });
          }
        }
        ac.signal.throwIfAborted();
        if (!sent) throw new Error('the reply was empty');
        const own = reported ?? { promptTokens: promptEstimate, completionTokens: estimateTokens(sent.slice(before.length)) };
        cost += this.bill(p, usage, own);
        const ms = this.succeed(p, 'reply', started);
        attempts.push({ provider: p.name, outcome: 'ok', ms });
        return { provider: p.name, model: p.model, text: sent, usage, cost, attempts };
      } catch (err) {
        // Not the provider's fault: the text could not be passed on, so no other provider can help.
        if (err instanceof DeliveryFailed) throw err.cause;
        // Our own timeouts abort the SDK call; their reason says which limit was hit.
        const cause = ac.signal.aborted ? ac.signal.reason : err;
        const outcome = ac.signal.aborted ? 'timeout' : classify(err);
        const ms = this.fail(p, 'reply', outcome, started, cause);
        attempts.push({ provider: p.name, outcome, ms, reason: describe(outcome, cause) });
        // What a failed attempt streamed was billed too (estimated).
        const own = { promptTokens: promptEstimate, completionTokens: estimateTokens(sent.slice(before.length)) };
        if (sent.length > before.length) cost += this.bill(p, usage, own);
      } finally {
        clearTimeout(total);
        clearTimeout(firstToken);
      }
    }
    throw new AllProvidersFailed(attempts, sent, usage, cost);
  }

  /** Adds one attempt's tokens to the reply's `usage` and the metrics; returns what they cost (USD). */
  private bill(p: ChatProvider, usage: Usage, own: Usage): number {
    usage.promptTokens += own.promptTokens;
    usage.completionTokens += own.completionTokens;
    const price = this.opts.prices[p.model];
    const cost = price ? (own.promptTokens * price.input + own.completionTokens * price.output) / 1_000_000 : 0;
    const labels = { provider: p.name, model: this.modelLabel(p.model) };
    this.opts.metrics.aiTokens.inc(withFields(labels, { direction: 'prompt' }), own.promptTokens);
    this.opts.metrics.aiTokens.inc(withFields(labels, { direction: 'completion' }), own.completionTokens);
    this.opts.metrics.aiCost.inc(labels, cost);
    return cost;
  }

  private isOpen(p: ChatProvider): boolean {
    const c = this.circuits.get(p.name);
    return !!c && c.openUntil > this.now();
  }

  private succeed(p: ChatProvider, kind: 'intent' | 'reply', started: number): number {
    this.circuits.delete(p.name);
    return this.record(p, kind, 'ok', started);
  }

  private fail(p: ChatProvider, kind: 'intent' | 'reply', outcome: Outcome, started: number, err: unknown): number {
    const c = this.circuits.get(p.name) ?? { failures: 0, openUntil: 0 };
    // After a cool-down one failure re-opens the circuit (half-open); otherwise it takes breakerFailures in a row.
    c.failures = c.openUntil ? this.opts.breakerFailures : c.failures + 1;
    if (c.failures >= this.opts.breakerFailures) c.openUntil = this.now() + this.opts.breakerCooldownMs;
    this.circuits.set(p.name, c);
    this.opts.log.warn({ provider: p.name, kind, outcome, err: describe(outcome, err) }, 'AI provider attempt failed');
    return this.record(p, kind, outcome, started);
  }

  private record(p: ChatProvider, kind: 'intent' | 'reply', outcome: Outcome, started: number): number {
    const ms = started ? this.now() - started : 0;
    this.opts.metrics.aiAttempts.inc({ provider: p.name, kind, outcome });
    if (started) this.opts.metrics.aiAttemptDuration.observe({ provider: p.name, kind, outcome }, ms / 1000);
    return ms;
  }
}

function describe(outcome: Outcome, err: unknown): string {
  const status = (err as { status?: number })?.status;
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0]?.slice(0, 200);
  if (outcome === 'rate_limited') return `rate limited${status ? ` (${status})` : ''}`;
  if (outcome === 'timeout') return message ?? 'timed out';
  return `${status ? `HTTP ${status}: ` : ''}${message}`;
}

/**
 * A provider taking over a reply may start by repeating it. Holds back new text while it could still be
 * a repeat of `already`; drops the repeated part, passes everything else through.
 */
export class RepeatFilter {
  private pending = '';
  private checking: boolean;

  constructor(private readonly already: string) {
    this.checking = already.length > 0;
  }

  push(text: string): string {
    if (!this.checking) return text;
    this.pending += text;
    if (this.pending.startsWith(this.already)) return this.release(this.pending.slice(this.already.length));
    if (this.already.startsWith(this.pending)) return '';
    return this.release(this.pending);
  }

  /** The first new text; a continuation of text ending in a space (a trimmed prefill) does not add another. */
  private release(fresh: string): string {
    if (!fresh) return '';
    this.checking = false;
    return /\s$/.test(this.already) ? fresh.replace(/^\s+/, '') : fresh;
  }
}
