import { z } from 'zod';

export const credentialsRules = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(254, 'must be at most 254 characters')
    .pipe(z.email('must be a valid email address')),
  password: z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters'),
});
