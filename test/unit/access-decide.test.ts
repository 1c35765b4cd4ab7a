import { describe, expect, it } from 'vitest';
import { decide } from '../../src/access/access.js';
import type { Action } from '../../src/access/rules.js';

/** A row visible under the actions in `allowed`, as the database would find it under each rule. */
const finder = (allowed: Action[]) => {
  const asked: Action[] = [];
  const find = async (a: Action) => {
    asked.push(a);
    return allowed.includes(a) ? { id: 'row' } : null;
  };
  return { find, asked };
};

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => e.extensions?.code,
  );

describe('decide (the outcome of every access check)', () => {
  it('gives the row in one lookup when the action is allowed', async () => {
    const f = finder(['read', 'write']);
    await expect(decide('Project', 'id', 'write', f.find)).resolves.toEqual({ id: 'row' });
    expect(f.asked).toEqual(['write']);
  });

  it('is FORBIDDEN for a viewer who may read but not act (a project VIEWER editing)', async () => {
    expect(await code(decide('Project', 'id', 'write', finder(['read']).find))).toBe('FORBIDDEN');
    expect(await code(decide('Project', 'id', 'admin', finder(['read', 'write']).find))).toBe('FORBIDDEN');
  });

  it('is NOT_FOUND for one who may not read, whatever the action, so existence is not revealed', async () => {
    for (const action of ['read', 'write', 'admin'] as const) {
      expect(await code(decide('Conversation', 'id', action, finder([]).find))).toBe('NOT_FOUND');
    }
    const f = finder([]);
    await code(decide('Conversation', 'id', 'read', f.find));
    expect(f.asked).toEqual(['read']);
  });
});
