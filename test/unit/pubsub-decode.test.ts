import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/pubsub.js';

/** What the reviver it replaces gave: JSON.parse calling it for every key, at every depth. */
const withReviver = (text: string) =>
  JSON.parse(text, (key, value) => (typeof value === 'string' && key.endsWith('At') ? new Date(value) : value));

describe('decodeEvent: a pub/sub event as subscribers get it', () => {
  const at = '2026-12-07T16:30:00.000Z';
  const event = {
    conversationId: 'c1',
    message: { id: 'm1', content: 'Sat', createdAt: at, completedAt: null, entities: { bpm: 90, seenAt: at } },
    tracks: [{ id: 't1', updatedAt: at }, at, 'At', 3],
    chAt: at,
    at,
    startedAt: 12,
  };
  const text = JSON.stringify(event);

  it('makes each string under a key ending in "At" a Date, at any depth, and leaves everything else', () => {
    const decoded = decodeEvent(text) as typeof event & Record<string, unknown>;
    expect(decoded.message.createdAt).toEqual(new Date(at));
    expect(decoded.message.entities.seenAt).toEqual(new Date(at));
    expect(decoded.tracks[0]).toEqual({ id: 't1', updatedAt: new Date(at) });
    expect(decoded.chAt).toEqual(new Date(at));
    // Not under such a key: an array's items (their keys are indexes), a key merely named "at", a
    // value that is not a string, a string that only ends in "At".
    expect(decoded.tracks.slice(1)).toEqual([at, 'At', 3]);
    expect(decoded.at).toBe(at);
    expect(decoded.startedAt).toBe(12);
    expect(decoded.message.completedAt).toBeNull();
    expect(decoded.message.content).toBe('Sat');
  });

  it('gives what JSON.parse with the reviver gave, from a string or a Buffer', () => {
    expect(decodeEvent(text)).toEqual(withReviver(text));
    expect(decodeEvent(Buffer.from(text))).toEqual(withReviver(text));
    expect(decodeEvent('"2026"')).toBe('2026');
    expect(decodeEvent('null')).toBeNull();
    // A top-level array; a string under such a key that is no date (an Invalid Date either way); a key
    // "__proto__" (JSON.parse makes it an own property: walked, not the prototype).
    const odd = `[{"seenAt":"soon","__proto__":{"createdAt":"${at}"}},"${at}"]`;
    const decoded = decodeEvent(odd) as [Record<string, unknown>, string];
    expect(decoded).toEqual(withReviver(odd));
    expect(Number.isNaN((decoded[0].seenAt as Date).getTime())).toBe(true);
    expect(Object.getOwnPropertyDescriptor(decoded[0], '__proto__')?.value).toEqual({ createdAt: new Date(at) });
    expect(Object.getPrototypeOf(decoded[0])).toBe(Object.prototype);
    expect(decoded[1]).toBe(at);
  });

  it('throws on text that is not JSON (graphql-redis-subscriptions then passes the raw message on)', () => {
    expect(() => decodeEvent('not json')).toThrow(SyntaxError);
  });
});
