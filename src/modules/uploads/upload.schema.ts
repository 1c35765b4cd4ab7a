/** Uploads: the Upload node, createUpload's ticket, and completeUpload. */
import { byId } from '../../access/rules.js';
import { builder } from '../../graphql/builder.js';
import { fileUrl, viewerOf } from '../../graphql/context.js';
import { UploadStatusEnum } from '../../graphql/enums.js';
import { idOf, optionalIdOf } from '../../graphql/ids.js';
import type { UploadTicket } from './upload.service.js';
import { withFields } from '../../with-fields.js';

export const UploadRef = builder.prismaNode('Upload', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => byId('Upload', ctx.viewer, id),
  description: 'An audio file a user uploaded: once READY, it can be a track, mixed and mastered.',
  fields: (t) => ({
    status: t.expose('status', { type: UploadStatusEnum }),
    filename: t.exposeString('filename'),
    contentType: t.exposeString('contentType'),
    bytes: t.exposeInt('size'),
    durationSec: t.exposeFloat('durationSec', { nullable: true }),
    sampleRate: t.exposeInt('sampleRate', { nullable: true, description: "The file's own rate (mixing resamples to 44.1 kHz)." }),
    channels: t.exposeInt('channels', { nullable: true }),
    bpm: t.exposeFloat('bpm', { nullable: true, description: 'Detected tempo.' }),
    key: t.exposeString('musicalKey', { nullable: true, description: 'Detected key, e.g. "A minor".' }),
    loudnessLufs: t.exposeFloat('loudnessLufs', { nullable: true, description: 'Integrated loudness, ITU-R BS.1770.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it was refused (FAILED).' }),
    audioUrl: t.string({
      nullable: true,
      description: 'Signed URL of the file (READY only), valid for 1 hour.',
      resolve: (u, _a, ctx) => (u.status === 'READY' ? fileUrl(ctx, u.key) : null),
    }),
    project: t.relation('project', {
      nullable: true,
      resolve: (query, u, _args, ctx) =>
        u.projectId
          ? ctx.prisma.project.findUnique(withFields(query, { where: byId('Project', ctx.viewer, u.projectId) }))
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const UploadTicketRef = builder.objectRef<UploadTicket>('UploadTicket').implement({
  description:
    'Where to send the file: `method` (PUT) to `url` with `headers`, the body exactly `bytes` long, before `expiresAt`.',
  fields: (t) => ({
    upload: t.field({ type: UploadRef, resolve: (ticket) => ticket.upload }),
    url: t.exposeString('url'),
    method: t.exposeString('method'),
    headers: t.field({ type: 'JSON', resolve: (ticket) => ticket.headers }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationFields((t) => ({
  createUpload: t.field({
    type: UploadTicketRef,
    description:
      'Reserves an upload (WAV, MP3, FLAC or OGG, at most UPLOAD_MAX_BYTES, within your UPLOAD_QUOTA_BYTES) and returns where to PUT the file. Then call completeUpload.',
    args: {
      filename: t.arg.string({ required: true }),
      contentType: t.arg.string({ required: true }),
      bytes: t.arg.int({ required: true }),
      projectId: t.arg.id({ description: 'Upload into this project (EDITOR or OWNER): its members can use it.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.uploads.create(
        viewerOf(ctx),
        withFields(args, { projectId: optionalIdOf('Project', args.projectId, 'projectId') }),
        ctx.publicUrl,
      ),
  }),
  completeUpload: t.prismaField({
    type: 'Upload',
    description:
      'Verifies the uploaded file (size, format, duration), decodes it and detects tempo and key. A refused file gives BAD_USER_INPUT with the reason and is deleted.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, args, ctx) => ctx.services.uploads.complete(viewerOf(ctx), idOf('Upload', args.id, 'id')),
  }),
}));
