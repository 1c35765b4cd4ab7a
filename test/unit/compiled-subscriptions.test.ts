/**
 * graphql-jit (0.8.9) writes literal arguments into the code it generates and turns its Date marker,
 * `"__MAGIC_DATE__<uuid><text>"`, into `new Date(<text>)`: a client's string literal holding the
 * marker runs its text as code. src/graphql/compiled-subscriptions.ts never compiles such a document.
 * Also: how its event mapping fails a step when the source or a plan throws.
 */
import { buildSchema, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { afterEach, describe, expect, it } from 'vitest';
import { compile, mapEvents } from '../../src/graphql/compiled-subscriptions.js';

const schema = buildSchema(`
  scalar JSON
  input Filter { words: [String!] }
  type Query { echo(s: String, filter: Filter, json: JSON): String }
`);
const MARKER = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';
const flag = globalThis as { __compiledSubscriptionsProbe?: number };
const INJECTED = `${MARKER}(globalThis.__compiledSubscriptionsProbe = 7, 1)`;

afterEach(() => {
  delete flag.__compiledSubscriptionsProbe;
});

describe('compiled subscription plans', () => {
  it('graphql-jit itself runs code from a string literal holding its Date marker', async () => {
    const compiled = compileQuery(schema, parse(`{ echo(s: ${JSON.stringify(INJECTED)}) }`));
    expect(isCompiledQuery(compiled)).toBe(true);
    if (isCompiledQuery(compiled)) await compiled.query({ echo: 'ok' }, {}, {});
    expect(flag.__compiledSubscriptionsProbe).toBe(7);
  });

  it('are not compiled for a document with the marker in any string literal', async () => {
    const documents = [
      `{ echo(s: ${JSON.stringify(INJECTED)}) }`,
      `{ echo(filter: { words: ["fine", ${JSON.stringify(INJECTED)}] }) }`,
      `{ echo(s: """${INJECTED}""") }`,
      `{ echo(s: ${JSON.stringify(`a"${INJECTED}`)}) }`,
      // A JSON literal's enum-like value is a string to the scalar, its field names are keys.
      `{ echo(json: { k: ${MARKER}process }) }`,
      `{ echo(json: { ${MARKER}k: 1 }) }`,
    ];
    for (const source of documents) {
      const plan = compile({ schema, document: parse(source) });
      expect(Array.isArray(plan), source).toBe(true);
      expect(String(plan)).toContain('__MAGIC_');
    }
    expect(flag.__compiledSubscriptionsProbe).toBeUndefined();
  });

  it('are compiled for an ordinary document, which runs as the schema says', async () => {
    const plan = compile({ schema, document: parse('{ echo(s: "a Date is not a marker") }') });
    expect(Array.isArray(plan)).toBe(false);
    if (Array.isArray(plan)) return;
    expect(await plan.query({ echo: 'hello' }, {}, {})).toEqual({ data: { echo: 'hello' } });
  });

  it('fail a step, not the caller, when the source throws at once, and end the source when a plan fails', async () => {
    const args = { schema, document: parse('{ echo }') };
    const throwing = mapEvents(
      {
        [Symbol.asyncIterator]: () => ({
          next: (): Promise<IteratorResult<unknown>> => {
            throw new Error('source broke');
          },
        }),
      },
      () => () => ({ data: null }),
      args,
    );
    const step = throwing.next();
    expect(step).toBeInstanceOf(Promise);
    await expect(step).rejects.toThrow('source broke');

    // A plan that throws, or whose result rejects, ends the source and fails the step.
    let returned = 0;
    const events = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: 'event', done: false }),
        return: async () => {
          returned++;
          return { value: undefined, done: true };
        },
      }),
    };
    const plans = [
      () => {
        throw new Error('plan broke');
      },
      () => Promise.reject(new Error('plan broke')),
    ];
    for (const plan of plans) await expect(mapEvents(events, () => plan, args).next()).rejects.toThrow('plan broke');
    expect(returned).toBe(2);
  });
});
