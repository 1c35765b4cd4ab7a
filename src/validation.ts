import type { z } from 'zod';
import { badInput } from './errors.js';

/**
 * Parses `input` with a zod rule. A failure becomes BAD_USER_INPUT naming the
 * first offending field (`extensions.field`), so nothing past the edge ever
 * sees invalid data.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'input';
  throw badInput(field, issue?.message ?? 'is invalid');
}
