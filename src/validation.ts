import type { z } from 'zod';
import { badInput } from './errors.js';

/** An unpaired UTF-16 surrogate: not a character (String.prototype.isWellFormed, without needing ES2024 typings). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or null. */
function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (it holds an unpaired surrogate)';
  return null;
}

/**
 * The path and problem of the first string in `value` (recursively) that PostgreSQL cannot store:
 * no NUL in text or jsonb (22021 / 22P05), and no unpaired surrogate in jsonb (22P05: "unsupported
 * Unicode escape sequence"). Refused here, for every field of every rule at once, instead of failing
 * in the database.
 */
function unstorable(value: unknown, path: string[] = []): { path: string[]; problem: string } | null {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { path, problem } : null;
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const found = unstorable(child, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** Refuses input holding a NUL character or an unpaired surrogate anywhere, as BAD_USER_INPUT on its field. */
export function rejectNul(input: unknown, field = 'input'): void {
  const found = unstorable(input);
  if (found) throw badInput(found.path.join('.') || field, found.problem);
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
