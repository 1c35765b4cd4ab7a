import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { parseMessage } from '../../src/modules/chat/intent-parser.js';
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
    extractIntent: async () => intent,
  });
  const router = (providers: ChatProvider[]) =>
    new ProviderRouter({
      providers,
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
    expect(out).toMatchObject({ provider: 'google', parsed: { intent: 'MIX_TRACK' } });
  });

  it('falls back to the local reading when no provider gives a valid intent', async () => {
    const local = parseMessage('make me a trap beat');
    const out = await router([scripted('openai', 'nope')]).extractIntent({ system: '', turns: [] }, local);
    expect(out).toEqual({ provider: 'local', parsed: local });
  });
});
