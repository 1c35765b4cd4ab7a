/** Inputs of each generation type: validated by the API at the edge and again by the worker from the stored row. */
import { z } from 'zod';
import { GENRES, normalizeGenre } from '../../music/genres.js';
import { bpmRule, keyRule } from '../projects/project.rules.js';

export const genreRule = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const genre = normalizeGenre(value);
    if (!genre) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a genre we make (try ${GENRES.join(', ')})` });
      return z.NEVER;
    }
    return genre;
  });

export const targetLufsRule = z.number().min(-24, 'must be at least -24 LUFS').max(-6, 'must be at most -6 LUFS');

export const beatInputRules = z.object({
  genre: genreRule,
  bpm: bpmRule,
  key: keyRule,
  mood: z
    .string()
    .trim()
    .toLowerCase()
    .max(32, 'must be at most 32 characters')
    .nullish()
    .transform((m) => m || 'mellow'),
  // The length asked for: a beat lasts the fewest whole bars that hold it, so it loops (the output's
  // durationSec is what was rendered; worker/engine/render.ts).
  durationSec: z
    .number()
    .int('must be a whole number of seconds')
    .min(5, 'must be at least 5')
    .max(300, 'must be at most 300')
    .nullish()
    .transform((d) => d ?? 30),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .nullish(),
  targetLufs: targetLufsRule.nullish().transform((t) => t ?? -14),
});
export type BeatInput = z.output<typeof beatInputRules> & { seed: number };

/** What a stored BEAT row's input must look like (seed fixed at creation). */
export const storedBeatInput = beatInputRules.extend({ seed: z.number().int().min(0) });

export const storedStemsInput = z.object({ sourceGenerationId: z.uuid() });
/** A source of audio: a finished generation's WAV, or a READY upload (decoded and resampled to 44.1 kHz stereo). */
const oneSource = <T extends { generationId?: string; uploadId?: string }>(s: T) =>
  (s.generationId === undefined) !== (s.uploadId === undefined);

export const storedMasterInput = z
  .object({ sourceGenerationId: z.uuid().optional(), sourceUploadId: z.uuid().optional(), targetLufs: targetLufsRule })
  .refine(
    (s) => oneSource({ generationId: s.sourceGenerationId, uploadId: s.sourceUploadId }),
    'one source: a generation or an upload',
  );
/** The most tracks one mix may take, whatever MIX_MAX_TRACKS says (src/config.ts): the worker refuses more. */
export const MIX_TRACKS_CEILING = 64;

export const storedMixInput = z.object({
  projectId: z.uuid(),
  targetLufs: targetLufsRule,
  tracks: z
    .array(
      z
        .object({
          generationId: z.uuid().optional(),
          uploadId: z.uuid().optional(),
          gainDb: z.number(),
          pan: z.number(),
          muted: z.boolean(),
        })
        .refine(oneSource, 'each track plays one source: a generation or an upload'),
    )
    .min(1, 'the project has no tracks to mix')
    .max(MIX_TRACKS_CEILING, `a mix takes at most ${MIX_TRACKS_CEILING} tracks`),
});
