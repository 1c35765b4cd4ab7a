import { z } from 'zod';
import { normalizeKey } from '../../music/keys.js';
import { emailRule } from '../auth/auth.rules.js';

export const bpmRule = z.number().int('must be a whole number').min(40, 'must be at least 40').max(220, 'must be at most 220');
export const keyRule = z
  .string()
  .max(32, 'must be at most 32 characters')
  .transform((value, ctx) => {
    const key = normalizeKey(value);
    if (!key) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a key (try "A minor", "F# major", "Bbm")` });
      return z.NEVER;
    }
    return key;
  });
/**
 * Tracks one project may hold. Besides keeping a project something a person can work with, it is the
 * bound the cost model uses for `Project.tracks` (src/graphql/limits.ts), so a query's estimated cost
 * is an upper bound of its work.
 */
export const PROJECT_MAX_TRACKS = 100;

/** Members one project may have (owners included); also the cost model's bound for `Project.members`. */
export const PROJECT_MAX_MEMBERS = 50;

export const addMemberRules = z.object({ email: emailRule });

/** A write's optional `version`: the one the client last read; a stale one gets CONFLICT. */
export const versionRule = z.number().int().min(0, 'must be 0 or more').nullish();

const nameRule = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const createProjectRules = z.object({
  name: nameRule,
  bpm: bpmRule.nullish(),
  key: keyRule.nullish(),
});

export const updateProjectRules = z.object({
  version: versionRule,
  name: nameRule.nullish(),
  bpm: bpmRule.nullish(),
  key: keyRule.nullish(),
});

const gainRule = z.number().min(-60, 'must be at least -60 dB').max(12, 'must be at most +12 dB');
const panRule = z.number().min(-1, 'must be between -1 (left) and 1 (right)').max(1, 'must be between -1 (left) and 1 (right)');

export const addTrackRules = z.object({
  name: nameRule.nullish(),
  gainDb: gainRule.nullish(),
  pan: panRule.nullish(),
});

export const updateTrackRules = z.object({
  version: versionRule,
  name: nameRule.nullish(),
  gainDb: gainRule.nullish(),
  pan: panRule.nullish(),
  muted: z.boolean().nullish(),
  position: z.number().int().min(0).max(10_000).nullish(),
});
