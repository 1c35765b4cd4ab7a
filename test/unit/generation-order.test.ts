import { describe, expect, it } from 'vitest';
import { NewestVersions, inGenerationOrder } from '../../src/modules/generations/generation-order.js';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describe('generation order', () => {
  it('passes each generation on in version order, equal versions included, others untouched', async () => {
    const events = [
      { g: { id: 'a', version: 1 } },
      { g: { id: 'b', version: 5 } },
      { g: { id: 'a', version: 0 } }, // older than a's 1: dropped
      { g: null }, // not about a generation: passes
      { g: { id: 'a', version: 1 } }, // same version: passes
      { g: { id: 'b', version: 4 } }, // older than b's 5: dropped
      { g: { id: 'a', version: 3 } },
    ];
    const passed = [];
    for await (const e of inGenerationOrder(from(events), (e) => e.g)) passed.push(e.g && `${e.g.id}${e.g.version}`);
    expect(passed).toEqual(['a1', 'b5', null, 'a1', 'a3']);
  });

  it('remembers the 1,000 generations seen last, forgetting the least recent', () => {
    const newest = new NewestVersions();
    expect(newest.admit({ id: 'first', version: 9 })).toBe(true);
    for (let i = 0; i < 999; i++) newest.admit({ id: `g${i}`, version: 9 });
    expect(newest.admit({ id: 'first', version: 8 })).toBe(false); // 1,000 ids: still remembered
    newest.admit({ id: 'one more', version: 9 }); // 1,001: the least recently passed on, 'first', goes
    expect(newest.admit({ id: 'g0', version: 8 })).toBe(false);
    expect(newest.admit({ id: 'first', version: 8 })).toBe(true);
  });
});
