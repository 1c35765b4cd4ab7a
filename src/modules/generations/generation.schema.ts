import { byId, generationWhere } from '../../access/rules.js';
import type { Generation } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { fileUrl, viewerOf } from '../../graphql/context.js';
import { GenerationStatusEnum, GenerationTypeEnum } from '../../graphql/enums.js';
import { checkCursors, idOf, optionalIdOf } from '../../graphql/ids.js';
import { liveSubscription } from '../../graphql/live-subscription.js';
import type { GenerationEvent } from '../../pubsub.js';
import { type GenerationOutputData, isOutputData } from './generation-output.js';
import { NewestVersions, inGenerationOrder } from './generation-order.js';
import { withFields } from '../../with-fields.js';

const StemRef = builder.objectRef<{ name: string; key: string }>('Stem').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: 'drums | bass | chords | lead' }),
    url: t.string({
      description: 'Signed WAV URL, valid for 1 hour.',
      resolve: (s, _a, ctx) => fileUrl(ctx, s.key),
    }),
  }),
});

const GenerationOutputRef = builder.objectRef<GenerationOutputData>('GenerationOutput').implement({
  description: 'Where to get the result. URLs are signed and expire after 1 hour; query again for fresh ones.',
  fields: (t) => ({
    audioUrl: t.string({ resolve: (o, _a, ctx) => fileUrl(ctx, o.files.mp3) }),
    format: t.exposeString('format'),
    wavUrl: t.string({ nullable: true, resolve: (o, _a, ctx) => fileUrl(ctx, o.files.wav) }),
    midiUrl: t.string({
      nullable: true,
      resolve: (o, _a, ctx) => (o.files.midi ? fileUrl(ctx, o.files.midi) : null),
    }),
    stems: t.field({ type: [StemRef], resolve: (o) => o.files.stems }),
    durationSec: t.exposeFloat('durationSec', { description: 'Seconds of audio; a beat is a whole number of bars.' }),
    loudnessLufs: t.exposeFloat('loudnessLufs', { nullable: true, description: 'Integrated loudness, ITU-R BS.1770.' }),
    truePeakDb: t.exposeFloat('truePeakDb', { nullable: true, description: 'dBTP.' }),
    targetLufs: t.exposeFloat('targetLufs', { nullable: true }),
  }),
});

export const GenerationRef = builder.prismaNode('Generation', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('Generation', ctx.viewer, id),
  fields: (t) => ({
    type: t.expose('type', { type: GenerationTypeEnum }),
    status: t.expose('status', { type: GenerationStatusEnum }),
    progress: t.exposeInt('progress', { description: '0..100' }),
    stage: t.exposeString('stage', { nullable: true, description: 'drums | bass | melody | mixing | ... | done' }),
    input: t.expose('input', { type: 'JSON' }),
    output: t.field({
      type: GenerationOutputRef,
      nullable: true,
      resolve: (g: Generation) => (g.status === 'COMPLETED' && isOutputData(g.output) ? g.output : null),
    }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why it failed (or why the last attempt did, while retrying): `CODE: sentence`, the code from a closed set.',
    }),
    provider: t.exposeString('provider', { nullable: true }),
    cost: t.float({ nullable: true, description: 'USD.', resolve: (g) => Number(g.cost) }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    attempts: t.exposeInt('attempts'),
    queuePosition: t.int({
      nullable: true,
      description:
        'While queued (PENDING): how many queued generations go before it. The queue takes turns between users, and short previews (≤ 15 s) first.',
      resolve: (g, _a, ctx) => ctx.services.queuePosition.position(g),
    }),
    estimatedStartSec: t.float({
      nullable: true,
      description:
        'While queued: seconds until it should start, from recent job durations and the workers taking jobs now (null when no estimate can be made).',
      resolve: (g, _a, ctx) => ctx.services.queuePosition.estimatedStartSec(g),
    }),
    project: t.relation('project', {
      nullable: true,
      // A generation from a progress event was not loaded with its project: it loads under the rule.
      resolve: (query, g, _args, ctx) =>
        g.projectId
          ? ctx.prisma.project.findUnique(withFields(query, { where: byId('Project', ctx.viewer, g.projectId) }))
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  generation: t.prismaField({
    type: 'Generation',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.access.generation.require(viewerOf(ctx), idOf('Generation', args.id, 'id'), 'read', query),
  }),
  generations: t.prismaConnection(
    {
      type: 'Generation',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      description: 'Newest first, optionally filtered by status and type.',
      args: { status: t.arg({ type: GenerationStatusEnum }), type: t.arg({ type: GenerationTypeEnum }) },
      resolve: (query, _root, args, ctx) => {
        checkCursors(args);
        return ctx.reads.lagTolerant((db) =>
          db.generation.findMany(
            withFields(query, {
              where: {
                AND: [generationWhere(viewerOf(ctx), 'read'), { status: args.status ?? undefined, type: args.type ?? undefined }],
              },
              orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
            }),
          ),
        );
      },
    },
    { name: 'GenerationConnection' },
    { name: 'GenerationEdge' },
  ),
}));

export const GenerationProgressEventRef = builder.objectRef<GenerationEvent>('GenerationProgressEvent').implement({
  fields: (t) => ({
    generation: t.field({ type: GenerationRef, resolve: (e) => e.generation }),
    percent: t.exposeInt('percent'),
    stage: t.exposeString('stage', { nullable: true }),
  }),
});

const GenerateBeatInput = builder.inputType('GenerateBeatInput', {
  fields: (t) => ({
    genre: t.string({ required: true, description: 'lofi, hiphop (boom bap), trap, house, techno, dnb, ambient, pop' }),
    bpm: t.int({ required: true, description: '40..220' }),
    key: t.string({ required: true, description: '"A minor", "F# major", "Bb minor", "Am", ...' }),
    mood: t.string({ description: 'mellow, dark, energetic, happy, sad, ...' }),
    durationSec: t.int({ description: '5..300, default 30; the beat lasts the fewest whole bars that hold it, so it loops' }),
    seed: t.int({ description: 'Same input and seed give the same arrangement; random when omitted.' }),
    targetLufs: t.float({ description: 'Mastering loudness target, -24..-6 LUFS, default -14.' }),
    projectId: t.id(),
  }),
});

builder.mutationFields((t) => ({
  generateBeat: t.prismaField({
    type: 'Generation',
    description: 'Queues a beat and returns at once (PENDING); follow it with generationProgress.',
    args: { input: t.arg({ type: GenerateBeatInput, required: true }) },
    resolve: (_q, _r, { input }, ctx) =>
      ctx.services.generations.generateBeat(
        viewerOf(ctx),
        withFields(input, {
          projectId: optionalIdOf('Project', input.projectId, 'projectId'),
        }),
      ),
  }),
  createStems: t.prismaField({
    type: 'Generation',
    description: 'Separate WAVs (drums, bass, chords, lead) of a finished beat; they sum to its mix.',
    args: { generationId: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.generations.createStems(viewerOf(ctx), idOf('Generation', args.generationId, 'generationId')),
  }),
  masterTrack: t.prismaField({
    type: 'Generation',
    description:
      'Re-masters a finished generation, or a READY upload, to a loudness target (default -14 LUFS, true peak ≤ -1 dBTP). Give generationId or uploadId.',
    args: { generationId: t.arg.id(), uploadId: t.arg.id(), targetLufs: t.arg.float() },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.generations.masterTrack(
        viewerOf(ctx),
        {
          generationId: optionalIdOf('Generation', args.generationId, 'generationId'),
          uploadId: optionalIdOf('Upload', args.uploadId, 'uploadId'),
        },
        args.targetLufs,
      ),
  }),
  mixProject: t.prismaField({
    type: 'Generation',
    description:
      "Mixes the project's finished tracks, generated and uploaded (resampled to 44.1 kHz stereo), with their gain, pan and mute, then masters the mix.",
    args: { projectId: t.arg.id({ required: true }), targetLufs: t.arg.float() },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.generations.mixProject(viewerOf(ctx), idOf('Project', args.projectId, 'projectId'), args.targetLufs),
  }),
  cancelGeneration: t.prismaField({
    type: 'Generation',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.generations.cancel(viewerOf(ctx), idOf('Generation', args.id, 'id')),
  }),
  retryGeneration: t.prismaField({
    type: 'Generation',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.generations.retry(viewerOf(ctx), idOf('Generation', args.id, 'id')),
  }),
}));

builder.subscriptionFields((t) => ({
  generationProgress: t.field({
    type: GenerationProgressEventRef,
    description: 'The current state at once, then every change until the generation finishes.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      liveSubscription(ctx, async () => {
        const viewer = viewerOf(ctx);
        const id = idOf('Generation', args.id, 'id');
        const { projectId } = await ctx.services.access.generation.require(viewer, id, 'read');
        return {
          event: 'generationProgress',
          key: id,
          projectId,
          // The snapshot is read once the subscription is live (follow runs then): nothing falls in between.
          follow: async function* (live) {
            yield* withCurrentState(await ctx.services.access.generation.require(viewer, id, 'read'), live);
          },
        };
      }),
    resolve: (event) => event,
  }),
  myGenerations: t.field({
    type: GenerationProgressEventRef,
    description: 'Every state change of any of your generations.',
    subscribe: (_root, _args, ctx) =>
      liveSubscription(ctx, async () => ({
        event: 'userGenerations',
        key: viewerOf(ctx).id,
        order: (live) => inGenerationOrder(live, (event) => event.generation),
      })),
    resolve: (event) => event,
  }),
}));

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/**
 * Yields the generation's current state first (a client that connects late
 * loses nothing), then live events, and ends after a terminal state.
 */
async function* withCurrentState(generation: Generation, live: AsyncIterable<GenerationEvent>): AsyncGenerator<GenerationEvent> {
  // The subscription is released by liveSubscription (graphql/live-subscription.ts) when this ends.
  yield { generation, percent: generation.progress, stage: generation.stage };
  if (TERMINAL.has(generation.status)) return;
  // Events older than the snapshot, or than one already sent, can arrive after it; skip them.
  const newest = new NewestVersions();
  newest.admit(generation);
  for await (const event of inGenerationOrder(live, (e) => e.generation, newest)) {
    yield event;
    if (TERMINAL.has(event.generation.status)) return;
  }
}
