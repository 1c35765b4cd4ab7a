import { describe, expect, it } from 'vitest';
import { groupBy } from '../../src/group-by.js';

describe('groupBy', () => {
  it('keeps the items order in each group and the keys in the order they first came', () => {
    const groups = groupBy(['b1', 'a1', 'b2', 'c1', 'a2', 'b3'], (s) => s[0]);
    expect([...groups.keys()]).toEqual(['b', 'a', 'c']);
    expect([...groups.values()]).toEqual([['b1', 'b2', 'b3'], ['a1', 'a2'], ['c1']]);
  });

  it('groups by identity for object keys, and gives an empty map for no items', () => {
    const one = { id: 1 };
    const same = { id: 1 };
    const groups = groupBy([{ k: one }, { k: same }, { k: one }], (x) => x.k);
    expect(groups.size).toBe(2);
    expect(groups.get(one)).toHaveLength(2);
    expect(groupBy([], () => 0).size).toBe(0);
  });

  it('puts ten thousand items of one key in one group, in order', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const group = groupBy(items, () => 'all').get('all');
    expect(group).toEqual(items);
  });
});
