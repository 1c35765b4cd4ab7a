import { z } from 'zod';

/** An account's email as stored: trimmed, lower-case, a valid address (signUp, logIn, addProjectMember). */
export const emailRule = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be a valid email address'));

export const credentialsRules = z.object({
  email: emailRule,
  password: z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters'),
});
