/**
 * What the providers are told: the reply and intent instructions built from
 * the conversation's context, and the validation of a provider's intent JSON
 * (merged with the local parser's reading, which always runs).
 */
import { z } from 'zod';
import { GENRES, normalizeGenre } from '../../../music/genres.js';
import { normalizeKey } from '../../../music/keys.js';
import type { ParsedMessage } from '../intent-parser.js';
import type { ReplyRequest, Turn } from './types.js';

export interface ChatContext {
  project: { name: string; bpm: number | null; key: string | null } | null;
  lastGeneration: { type: string; status: string; input: unknown } | null;
  /** Earlier turns, oldest first (not including the new message). */
  recent: Turn[];
}

function describeContext(ctx: ChatContext): string {
  const lines: string[] = [];
  if (ctx.project)
    lines.push(
      `The conversation belongs to the project "${ctx.project.name}"${ctx.project.bpm ? ` at ${ctx.project.bpm} bpm` : ''}${ctx.project.key ? ` in ${ctx.project.key}` : ''}.`,
    );
  if (ctx.lastGeneration)
    lines.push(
      `The conversation's last generation: ${ctx.lastGeneration.type} (${ctx.lastGeneration.status}) with ${JSON.stringify(ctx.lastGeneration.input)}.`,
    );
  return lines.join('\n');
}

export function replySystemPrompt(ctx: ChatContext, action: string): string {
  return [
    'You are dawg, a friendly music producer in a chat app that makes beats, stems, mixes and masters.',
    'Answer in two or three short sentences of plain text (no markdown). Mention what was understood and what happens next.',
    describeContext(ctx),
    `What the app just did for this message: ${action}`,
  ]
    .filter(Boolean)
    .join('\n');
}

export function intentSystemPrompt(ctx: ChatContext): string {
  return [
    'Classify the last user message of a music-making chat. Reply with one JSON object only:',
    '{"intent": "GENERATE_BEAT"|"CREATE_STEMS"|"MASTER_TRACK"|"MIX_TRACK"|"CHAT",',
    ` "entities": {"genre"?: one of ${GENRES.join('|')}, "bpm"?: 40-220, "key"?: e.g. "A minor", "mood"?: one word, "durationSec"?: 5-300},`,
    ' "modifiers": {"tempo"?: "faster"|"slower", "loudness"?: "louder"|"quieter"},',
    ' "followUp": true when it changes the last generation ("make it faster", "same but in D minor")}',
    'Leave out entities the message does not state.',
    describeContext(ctx),
  ]
    .filter(Boolean)
    .join('\n');
}

/** The turns for a reply; a reply another provider started is handed over as an instruction to continue it. */
export function continuationTurns(req: ReplyRequest): Turn[] {
  if (!req.continueFrom) return req.turns;
  return [
    ...req.turns,
    { role: 'assistant', content: req.continueFrom },
    { role: 'user', content: 'Your reply was cut off. Continue it exactly where it stopped; do not repeat any of it.' },
  ];
}

const intentSchema = z.object({
  intent: z.enum(['GENERATE_BEAT', 'CREATE_STEMS', 'MASTER_TRACK', 'MIX_TRACK', 'CHAT']),
  entities: z
    .object({
      genre: z.string().optional().nullable(),
      bpm: z.number().int().min(40).max(220).optional().nullable(),
      key: z.string().optional().nullable(),
      mood: z.string().max(40).optional().nullable(),
      durationSec: z.number().min(5).max(300).optional().nullable(),
    })
    .default({}),
  modifiers: z
    .object({
      tempo: z.enum(['faster', 'slower']).optional().nullable(),
      loudness: z.enum(['louder', 'quieter']).optional().nullable(),
    })
    .default({}),
  followUp: z.boolean().optional(),
});

/**
 * A provider's intent output, validated, normalized (genre aliases, key spelling) and merged over the
 * local reading: what the provider states wins, the local parser fills the gaps. Throws on invalid output.
 */
export function mergeIntent(raw: unknown, local: ParsedMessage): ParsedMessage {
  const json = typeof raw === 'string' ? JSON.parse(raw.replace(/^```(?:json)?\s*|\s*```$/g, '')) : raw;
  const out = intentSchema.parse(json);
  const e = out.entities;
  const genre = e.genre ? (normalizeGenre(e.genre) ?? undefined) : undefined;
  const key = e.key ? (normalizeKey(e.key) ?? undefined) : undefined;
  const entities = {
    ...local.entities,
    ...(genre && { genre }),
    ...(e.bpm && { bpm: e.bpm }),
    ...(key && { key }),
    ...(e.mood && { mood: e.mood.toLowerCase() }),
    ...(e.durationSec && { durationSec: Math.round(e.durationSec) }),
  };
  return {
    intent: out.intent,
    entities,
    modifiers: {
      ...local.modifiers,
      ...(out.modifiers.tempo && { tempo: out.modifiers.tempo }),
      ...(out.modifiers.loudness && { loudness: out.modifiers.loudness }),
    },
    followUp: out.followUp ?? local.followUp,
    // Whether the beat should fit an upload is read locally (the provider is not told about uploads).
    fitsUpload: out.intent === 'GENERATE_BEAT' ? local.fitsUpload : null,
  };
}
