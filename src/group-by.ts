/**
 * Items grouped by a key, each group in the items' order, the groups in the order their keys first
 * came. Map.groupBy does this from Node 21 on; Node 20 has none. One push per item: a group copied
 * for each item it gains (`[...group, item]`) costs the square of its size.
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
