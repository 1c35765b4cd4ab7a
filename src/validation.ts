import type { z } from 'zod';
import { badInput } from './errors.js';

/**
 * The path of the first string in `value` (recursively) that contains NUL, or null. PostgreSQL
 * stores no NUL in text or jsonb (22021 / 22P05), so such input is refused here, for every field of
 * every rule at once, instead of failing in the database.
 */
function nulPath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const found = nulPath(child, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** Refuses input holding a NUL character anywhere, as BAD_USER_INPUT on its field. */
export function rejectNul(input: unknown, field = 'input'): void {
  const path = nulPath(input);
  if (path) throw badInput(path.join('.') || field, 'must not contain the NUL character');
}

/**
 * Parses `input` with a zod rule. A failure becomes BAD_USER_INPUT naming the
 * first offending field (`extensions.field`), so nothing past the edge ever
 * sees invalid data.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  rejectNul(input);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'input';
  throw badInput(field, issue?.message ?? 'is invalid');
}
