/**
 * Events delivered to this process's listeners ahead of their copy from Redis (src/pubsub-here.ts):
 * each listener gets each event once and in order, whether it was on the channel before the event,
 * joined between the event and its copy, or joined while copies were still on their way.
 */
import { expect, it } from 'vitest';
import { DeliveredHere } from '../../src/pubsub-here.js';

/** Listeners by id on one or more channels, each recording what it got. */
function setup() {
  let clock = 0;
  const channels = new Map<string, number[]>();
  const got = new Map<number, string[]>();
  const here = new DeliveredHere(
    {
      ids: (channel) => channels.get(channel) ?? [],
      send: (id, event) => got.get(id)?.push(event as string),
    },
    (data) => JSON.parse(data),
    () => clock,
  );
  let nextId = 0;
  return {
    here,
    got,
    join(channel: string): number {
      const id = nextId++;
      channels.set(channel, [...(channels.get(channel) ?? []), id]);
      got.set(id, []);
      return id;
    },
    leave(channel: string, id: number) {
      channels.set(
        channel,
        (channels.get(channel) ?? []).filter((i) => i !== id),
      );
    },
    /** A message from Redis, delivered to every listener when it is not a copy of one delivered here. */
    fromRedis(channel: string, data: string) {
      here.arrived(channel, data, () => {
        for (const id of channels.get(channel) ?? []) got.get(id)?.push(JSON.parse(data));
      });
    },
    tick(ms: number) {
      clock += ms;
    },
  };
}

const ev = (s: string) => JSON.stringify(s);

it('delivers to the listeners on the channel at once, and drops their copy from Redis', () => {
  const t = setup();
  const a = t.join('c');
  const b = t.join('c');
  const other = t.join('d');
  t.here.deliver('c', ev('e1'));
  expect(t.got.get(a)).toEqual(['e1']);
  expect(t.got.get(b)).toEqual(['e1']);
  expect(t.got.get(other)).toEqual([]);
  expect(t.here.waiting()).toBe(1);
  t.fromRedis('c', ev('e1'));
  expect(t.got.get(a)).toEqual(['e1']);
  expect(t.got.get(b)).toEqual(['e1']);
  expect(t.here.waiting()).toBe(0);
  // A message published elsewhere goes to everyone, as before.
  t.fromRedis('c', ev('x'));
  expect(t.got.get(a)).toEqual(['e1', 'x']);
  expect(t.got.get(b)).toEqual(['e1', 'x']);
});

it('gives a listener that joined after an event its copy from Redis, and later events in order', () => {
  const t = setup();
  const a = t.join('c');
  t.here.deliver('c', ev('e1'));
  const late = t.join('c');
  // Delivered here to `a` only: `late` still waits for e1's copy, so e2 must not overtake it.
  t.here.deliver('c', ev('e2'));
  expect(t.got.get(a)).toEqual(['e1', 'e2']);
  expect(t.got.get(late)).toEqual([]);
  t.fromRedis('c', ev('e1'));
  t.fromRedis('c', ev('e2'));
  expect(t.got.get(a)).toEqual(['e1', 'e2']);
  expect(t.got.get(late)).toEqual(['e1', 'e2']);
  // Every copy is back: the next event is delivered here to both.
  t.here.deliver('c', ev('e3'));
  expect(t.got.get(late)).toEqual(['e1', 'e2', 'e3']);
  t.fromRedis('c', ev('e3'));
  expect(t.got.get(a)).toEqual(['e1', 'e2', 'e3']);
  expect(t.got.get(late)).toEqual(['e1', 'e2', 'e3']);
  expect(t.here.waiting()).toBe(0);
});

it('goes through Redis alone when nobody here had the last events (those listeners left)', () => {
  const t = setup();
  const a = t.join('c');
  t.here.deliver('c', ev('e1'));
  const b = t.join('c');
  t.leave('c', a);
  t.here.deliver('c', ev('e2'));
  expect(t.here.waiting()).toBe(1);
  t.fromRedis('c', ev('e1'));
  t.fromRedis('c', ev('e2'));
  expect(t.got.get(b)).toEqual(['e1', 'e2']);
  expect(t.got.get(a)).toEqual(['e1']);
});

it('stops waiting for the copy of an event that will not be published', () => {
  const t = setup();
  const a = t.join('c');
  const unpublished = t.here.deliver('c', ev('e1'));
  unpublished();
  expect(t.here.waiting()).toBe(0);
  const b = t.join('c');
  t.here.deliver('c', ev('e2'));
  expect(t.got.get(b)).toEqual(['e2']);
  expect(t.got.get(a)).toEqual(['e1', 'e2']);
});

it('forgets a copy that never came after a minute, so the channel is delivered here again', () => {
  const t = setup();
  t.join('c');
  t.here.deliver('c', ev('e1'));
  const late = t.join('c');
  t.tick(59_000);
  t.here.deliver('c', ev('e2'));
  expect(t.got.get(late)).toEqual([]);
  expect(t.here.waiting()).toBe(2);
  t.tick(11_000);
  // e1 is past a minute; e2 (11 s old) waits on.
  t.here.deliver('d', ev('x'));
  expect(t.here.waiting()).toBe(1);
  t.tick(60_000);
  t.here.deliver('c', ev('e3'));
  expect(t.got.get(late)).toEqual(['e3']);
});

it('records nothing when no listener is on the channel', () => {
  const t = setup();
  t.here.deliver('c', ev('e1'));
  expect(t.here.waiting()).toBe(0);
  const a = t.join('c');
  t.fromRedis('c', ev('e1'));
  expect(t.got.get(a)).toEqual(['e1']);
});
