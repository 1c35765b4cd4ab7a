/**
 * withFields (src/with-fields.ts): `{ ...base, ...fields }` as a new object, with one hidden class for
 * every object of the same shape. On Node 20 an object literal that spreads and then adds properties
 * got a hidden class of its own each time once its code was warm, allocated in old space (measured in
 * docs/benchmarks.md, "What changed: request data freed young").
 */
import { describe, expect, it } from 'vitest';
import { runWithNatives } from '../helpers/natives.js';
import { withFields } from '../../src/with-fields.js';

/** Whether two objects made by warm code share a hidden class (%HaveSameMap, in a child process). */
function sharedHiddenClass(): { withFields: boolean; spread: boolean } {
  const script = `
    import { withFields } from './src/with-fields.ts';
    const base = { viewer: 1, authError: null };
    const lean = (i) => withFields(base, { x: i });
    const spread = (i) => ({ ...base, x: i });
    let a, b;
    for (let i = 0; i < 100000; i++) { a = [lean(i), lean(i + 1)]; b = [spread(i), spread(i + 1)]; }
    console.log('RESULT ' + JSON.stringify({ withFields: %HaveSameMap(a[0], a[1]), spread: %HaveSameMap(b[0], b[1]) }));`;
  return runWithNatives<{ withFields: boolean; spread: boolean }>(script);
}

describe('withFields', () => {
  it("is a new object with base's fields, then fields' (which win), leaving both as they were", () => {
    const base = { a: 1, b: 2 };
    const fields = { b: 3, c: 4 };
    const merged = withFields(base, fields);
    expect(merged).toEqual({ a: 1, b: 3, c: 4 });
    expect(merged).not.toBe(base);
    expect(base).toEqual({ a: 1, b: 2 });
    expect(fields).toEqual({ b: 3, c: 4 });
  });

  it('gives objects of one shape one hidden class, where a spread literal on Node 20 gives each its own', () => {
    const result = sharedHiddenClass();
    expect(result.withFields).toBe(true);
    // The reason for the helper: Node 22 and 24 (V8 12+) share one class either way.
    if (process.versions.node.startsWith('20.')) expect(result.spread).toBe(false);
  });
});
