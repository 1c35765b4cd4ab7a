/**
 * Uploads: createUpload reserves a row and hands out a short-lived URL to PUT the file to;
 * completeUpload checks the stored object (there, and of the declared size), then has the worker
 * decode and analyse it (src/jobs/upload-job.ts) and waits for the verdict. Only READY uploads
 * become tracks, or are mixed and mastered. Quota: a user's PENDING and READY uploads together.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Access } from '../../access/access.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { Upload } from '../../generated/prisma/client.js';
import { badInput } from '../../errors.js';
import { analyzeJobOptions, type UploadJob } from '../../jobs/upload-job.js';
import type { Logger } from '../../logger.js';
import type { PubSub } from '../../pubsub.js';
import { type Storage, storageKeys } from '../../storage/index.js';
import { withTimeout } from '../../timeout.js';
import { parseInput } from '../../validation.js';
import type { Viewer } from '../auth/viewer.js';
import { createUploadRules, mediaType, uploadFormat } from './upload.rules.js';

export interface UploadTicket {
  upload: Upload;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: Date;
}

export class UploadService {
  private readonly rules;

  constructor(
    private readonly deps: {
      prisma: Db;
      pubsub: PubSub;
      queue: Queue<UploadJob>;
      storage: Storage;
      access: Access;
      log: Logger;
      config: Pick<Config, 'UPLOAD_MAX_BYTES' | 'UPLOAD_QUOTA_BYTES' | 'UPLOAD_URL_TTL_SEC' | 'UPLOAD_ANALYSIS_WAIT_MS'>;
    },
  ) {
    this.rules = createUploadRules(deps.config.UPLOAD_MAX_BYTES);
  }

  async create(
    viewer: Viewer,
    args: { filename: string; contentType: string; bytes: number; projectId?: string | null },
    baseUrl?: string,
  ): Promise<UploadTicket> {
    const input = parseInput(this.rules, { filename: args.filename, contentType: args.contentType, bytes: args.bytes });
    if (args.projectId != null) await this.deps.access.project.require(viewer, args.projectId, 'write');
    const contentType = mediaType(input.contentType);
    const id = randomUUID();
    const key = storageKeys.upload(viewer.id, id, uploadFormat(contentType) as string);
    const quota = this.deps.config.UPLOAD_QUOTA_BYTES;
    // The sum and the insert share a transaction holding a per-user lock: concurrent creates cannot overshoot.
    const upload = await this.deps.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`dawg:uploads:${viewer.id}`}, 0))`;
      const used = await tx.upload.aggregate({
        where: { userId: viewer.id, status: { in: ['PENDING', 'READY'] } },
        _sum: { size: true },
      });
      const usedBytes = used._sum.size ?? 0;
      if (usedBytes + input.bytes > quota)
        throw badInput(
          'bytes',
          `over your upload quota: ${usedBytes} of ${quota} bytes are used, and this file needs ${input.bytes} (UPLOAD_QUOTA_BYTES)`,
        );
      return tx.upload.create({
        data: {
          id,
          userId: viewer.id,
          projectId: args.projectId ?? null,
          key,
          filename: input.filename,
          contentType,
          size: input.bytes,
        },
      });
    });
    const ttl = this.deps.config.UPLOAD_URL_TTL_SEC;
    const target = await this.deps.storage.uploadUrl(key, { contentType, bytes: input.bytes, expiresInSec: ttl, baseUrl });
    return { upload, ...target, expiresAt: new Date(Date.now() + ttl * 1000) };
  }

  /**
   * Verifies and analyses the file. READY: returned. Refused: FAILED with the reason, its object
   * deleted, and BAD_USER_INPUT. Analysis still running after UPLOAD_ANALYSIS_WAIT_MS: returned
   * PENDING; it settles by itself (read it again with `node`).
   */
  async complete(viewer: Viewer, id: string): Promise<Upload> {
    const upload = await this.deps.access.upload.require(viewer, id, 'write');
    if (upload.status === 'READY') return upload;
    if (upload.status === 'FAILED') throw badInput('id', `the upload failed: ${upload.error}`);
    const size = await this.deps.storage.size(upload.key);
    if (size === null) throw badInput('id', 'no file was uploaded yet: PUT it to the URL createUpload gave, then complete it');
    if (size !== upload.size) {
      const reason = `the file is ${size} bytes, but createUpload was told ${upload.size}`;
      await this.fail(upload, reason);
      throw badInput('id', reason);
    }
    const settled = await this.deps.pubsub.subscribeReady('uploadSettled', upload.id);
    try {
      await this.deps.queue.add('ANALYZE', { uploadId: upload.id }, analyzeJobOptions(upload.id));
      const current = await this.reload(upload.id);
      if (current.status === 'PENDING')
        await withTimeout(settled.next(), this.deps.config.UPLOAD_ANALYSIS_WAIT_MS).catch(() => undefined);
    } finally {
      await settled.return?.();
    }
    const done = await this.reload(upload.id);
    if (done.status === 'FAILED') throw badInput('id', `the upload failed: ${done.error}`);
    return done;
  }

  private reload(id: string): Promise<Upload> {
    return this.deps.prisma.upload.findUniqueOrThrow({ where: { id } });
  }

  private async fail(upload: Upload, reason: string): Promise<void> {
    await this.deps.prisma.upload.updateMany({
      where: { id: upload.id, status: 'PENDING' },
      data: { status: 'FAILED', error: reason, completedAt: new Date() },
    });
    await this.deps.storage.delete(upload.key);
  }
}
