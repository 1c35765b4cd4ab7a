/**
 * Statements in the docs that the code can contradict, checked against the code: the api guide's
 * subscription table against the schema, the README's `npm start` line against scripts/start.mjs,
 * and the README's pointer to the list of known gaps.
 */
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(path, 'utf8');

/** The rows of the first markdown table under `heading`, as arrays of cells. */
function table(markdown: string, heading: string): string[][] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`no section "${heading}"`);
  // The first table only: rows up to the first line that is not one, once the table has begun.
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  const rows = start < 0 ? [] : lines.slice(start, end < 0 ? undefined : end);
  return rows.slice(2).map((r) =>
    r
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

describe('docs match the code', () => {
  it('docs/api-guide.md lists every subscription with its arguments, and no other', () => {
    const subscription = buildSchema(read('schema/schema.graphql')).getSubscriptionType();
    const fields = Object.values(subscription?.getFields() ?? {});
    expect(fields.length).toBeGreaterThan(0);
    const rows = table(read('docs/api-guide.md'), 'Subscriptions');
    const documented = new Map(rows.map(([name = '']) => [/^`(\w+)/.exec(name)?.[1] ?? name, name]));
    expect([...documented.keys()].sort()).toEqual(fields.map((f) => f.name).sort());
    for (const field of fields) {
      const args = [...(documented.get(field.name)?.matchAll(/[(,]\s*(\w+)/g) ?? [])].map((m) => m[1]);
      expect(args, field.name).toEqual(field.args.map((a) => a.name));
    }
  });

  it("README's command table says `npm start` runs the api and the worker, as scripts/start.mjs does", () => {
    const start = table(read('README.md'), 'Commands').find(([command]) => command === '`npm start`');
    expect(start?.[1]).toMatch(/api/);
    expect(start?.[1]).toMatch(/worker/);
    const script = read('scripts/start.mjs');
    expect(JSON.parse(read('package.json')).scripts.start).toContain('scripts/start.mjs');
    expect(script).toContain("entry('src/main'");
    expect(script).toContain("entry('worker/main')");
  });

  it('the README points at a "Limits and known gaps" section that exists', () => {
    expect(read('README.md')).toContain('docs/architecture.md#limits-and-known-gaps');
    const gaps = read('docs/architecture.md')
      .split(/^## /m)
      .find((s) => s.startsWith('Limits and known gaps\n'));
    expect(gaps?.match(/^- \*\*/gm)?.length ?? 0).toBeGreaterThan(3);
  });
});
