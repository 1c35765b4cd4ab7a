import { z } from 'zod';

export const TITLE_MAX = 200;

export const createConversationRules = z.object({
  title: z.string().trim().max(TITLE_MAX, `must be at most ${TITLE_MAX} characters`).nullish(),
});
