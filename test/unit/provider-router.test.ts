import { describe, expect, it } from 'vitest';
import { aiModelLabel, createMetrics } from '../../src/metrics.js';
import { parseMessage } from '../../src/modules/chat/intent-parser.js';
import { localProvider } from '../../src/modules/chat/providers/local.js';
import { mergeIntent } from '../../src/modules/chat/providers/prompts.js';
import { ProviderRouter, RepeatFilter } from '../../src/modules/chat/providers/router.js';
import type { ChatProvider } from '../../src/modules/chat/providers/types.js';
import pino from 'pino';

describe('RepeatFilter', () => {
  it('drops a restart that repeats what was sent, in any split', () => {
    const f = new RepeatFilter('Hello there, ');
    expect(['Hel', 'lo ', 'there', ', frie', 'nd'].map((t) => f.push(t)).join('')).toBe('friend');
  });
  it('passes a continuation through unchanged once it differs', () => {
    const f = new RepeatFilter('Hello there, ');
    expect(['He', 'y you'].map((t) => f.push(t)).join('')).toBe('Hey you');
  });
  it('does not double the space where a trimmed prefill is continued', () => {
    const f = new RepeatFilter('Mastering ');
    expect(['', ' it', ' louder'].map((t) => f.push(t)).join('')).toBe('it louder');
  });
  it('passes everything when nothing was sent', () => {
    expect(new RepeatFilter('').push('abc')).toBe('abc');
  });
});

describe('mergeIntent', () => {
  const local = parseMessage('make me a 90 bpm beat');
  it('normalizes what the provider says and fills gaps from the local reading', () => {
    const merged = mergeIntent('```json\n{"intent":"GENERATE_BEAT","entities":{"genre":"Boom Bap","key":"F#m"}}\n```', local);
    expect(merged).toMatchObject({ intent: 'GENERATE_BEAT', entities: { genre: 'hiphop', key: 'F# minor', bpm: 90 } });
  });
  it('rejects output that is not the schema', () => {
    expect(() => mergeIntent('not json', local)).toThrow();
    expect(() => mergeIntent({ intent: 'DANCE' }, local)).toThrow();
    expect(() => mergeIntent({ intent: 'GENERATE_BEAT', entities: { bpm: 999 } }, local)).toThrow();
  });
});

describe('ProviderRouter', () => {
  const scripted = (name: ChatProvider['name'], intent: unknown): ChatProvider => ({
    name,
    model: `${name}-model`,
    async *streamReply() {
      yield { type: 'text', text: name };
    },
    // openai reports its usage; the others report none (estimated: ~4 characters a token).
    extractIntent: async () => ({ output: intent, usage: name === 'openai' ? { promptTokens: 30, completionTokens: 5 } : null }),
  });
  const router = (providers: ChatProvider[]) =>
    new ProviderRouter({
      providers,
      local: localProvider(0),
      firstTokenTimeoutMs: 1000,
      totalTimeoutMs: 1000,
      breakerFailures: 3,
      breakerCooldownMs: 1000,
      prices: {},
      metrics: createMetrics(),
      log: pino({ level: 'silent' }),
    });

  it('moves on from invalid structured output to the next provider', async () => {
    const local = parseMessage('hello');
    const r = router([scripted('openai', '{"oops":1}'), scripted('google', '{"intent":"MIX_TRACK"}')]);
    const out = await r.extractIntent({ system: '', turns: [{ role: 'user', content: 'hello' }] }, local);
    expect(out).toMatchObject({ provider: 'google', model: 'google-model', parsed: { intent: 'MIX_TRACK' } });
  });

  it('bills every remote intent answer, a rejected one too: reported usage, else estimated, priced per model', async () => {
    const metrics = createMetrics();
    const r = new ProviderRouter({
      providers: [scripted('openai', '{"oops":1}'), scripted('google', '{"intent":"MIX_TRACK"}')],
      local: localProvider(0),
      firstTokenTimeoutMs: 1000,
      totalTimeoutMs: 1000,
      breakerFailures: 3,
      breakerCooldownMs: 1000,
      prices: {
        'openai-model': { input: 1_000_000, output: 2_000_000 },
        'google-model': { input: 1_000_000, output: 1_000_000 },
      },
      metrics,
      log: pino({ level: 'silent' }),
    });
    const out = await r.extractIntent({ system: 'abcdefgh', turns: [{ role: 'user', content: 'hello' }] }, parseMessage('hello'));
    // openai: 30 + 5 reported; google: ceil(("abcdefgh" + "hello").length / 4) = 4 prompt, ceil(23 / 4) = 6 completion.
    expect(out.usage).toEqual({ promptTokens: 34, completionTokens: 11 });
    expect(out.cost).toBeCloseTo(30 + 5 * 2 + 4 + 6, 9);
    const tokens = (await metrics.aiTokens.get()).values;
    const labelled = (provider: string, model: string, direction: string) =>
      tokens.find((v) => v.labels.provider === provider && v.labels.model === model && v.labels.direction === direction)?.value;
    expect(labelled('openai', 'openai-model', 'prompt')).toBe(30);
    expect(labelled('google', 'google-model', 'completion')).toBe(6);
    const costs = (await metrics.aiCost.get()).values.map((v) => [v.labels.provider, v.labels.model, v.value]);
    expect(costs).toEqual([
      ['openai', 'openai-model', expect.closeTo(30 + 5 * 2, 9)],
      ['google', 'google-model', expect.closeTo(4 + 6, 9)],
    ]);
  });

  it('labels AI metrics with the priced and configured models only, any other as other', () => {
    const label = aiModelLabel(['gpt-4o-mini', 'openai-model']);
    expect(['gpt-4o-mini', 'openai-model', 'gpt-4o-mini-2024-07-18', 'someone-elses-model'].map(label)).toEqual([
      'gpt-4o-mini',
      'openai-model',
      'other',
      'other',
    ]);
  });

  it('treats an empty reply as a failure and moves on', async () => {
    const silent: ChatProvider = { ...scripted('openai', ''), async *streamReply() {} };
    const result = await router([silent, scripted('google', '')]).streamReply(
      { system: '', turns: [], fallbackText: '' },
      async () => {},
    );
    expect(result).toMatchObject({ provider: 'google', text: 'google' });
    expect(result.attempts.map((a) => [a.provider, a.outcome, a.reason])).toEqual([
      ['openai', 'error', 'the reply was empty'],
      ['google', 'ok', undefined],
    ]);
  });

  it('does not blame the provider (or try the next one) when the text cannot be delivered', async () => {
    const tried: string[] = [];
    const spy = (name: ChatProvider['name']): ChatProvider => ({
      ...scripted(name, ''),
      async *streamReply() {
        tried.push(name);
        yield { type: 'text', text: 'hello' };
      },
    });
    const r = router([spy('openai'), spy('google')]);
    await expect(
      r.streamReply({ system: '', turns: [], fallbackText: '' }, async () => {
        throw new Error('Redis is down');
      }),
    ).rejects.toThrow('Redis is down');
    expect(tried).toEqual(['openai']);
  });

  it('falls back to the local reading when no provider gives a valid intent', async () => {
    const local = parseMessage('make me a trap beat');
    const out = await router([scripted('openai', 'nope')]).extractIntent({ system: '', turns: [] }, local);
    // The rejected answer's tokens were spent all the same.
    expect(out).toEqual({
      provider: 'local',
      model: null,
      parsed: local,
      usage: { promptTokens: 30, completionTokens: 5 },
      cost: 0,
    });
  });
});
