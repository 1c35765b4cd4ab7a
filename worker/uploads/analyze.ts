/**
 * ANALYZE: turns a PENDING upload whose file is stored into READY (duration, rate, channels,
 * loudness, tempo, key) or FAILED with the reason, its object deleted. What is the file's fault
 * ends at once; what is ours (storage, database) is retried, and after the last attempt the upload
 * fails too, so nothing waits forever. Either way the api's completeUpload is told (uploadSettled).
 */
import type { Job } from 'bullmq';
import { keyName } from '../../src/music/keys.js';
import { detect, mono } from '../../src/music/detect.js';
import { analyzeJobSchema } from '../../src/jobs/upload-job.js';
import { uploadFormat } from '../../src/modules/uploads/upload.rules.js';
import type { Upload } from '../../src/generated/prisma/client.js';
import { SAMPLE_RATE } from '../engine/dsp.js';
import { integratedLoudness } from '../engine/loudness.js';
import type { WorkerDeps } from '../deps.js';
import { decodeUpload, UploadRefused } from './decode.js';

/** Tempo and key are read from the opening (the key's tonic from its first notes): at most this much. */
const DETECT_WINDOW_SEC = 90;

export function createAnalyzer(deps: WorkerDeps) {
  async function settle(upload: Upload, data: Partial<Upload>): Promise<void> {
    const status = data.status as 'READY' | 'FAILED';
    // Only a PENDING row moves: a cleanup or a second attempt that got there first wins.
    const { count } = await deps.prisma.upload.updateMany({
      where: { id: upload.id, status: 'PENDING' },
      data: { ...data, completedAt: new Date() },
    });
    if (status === 'FAILED')
      await deps.storage
        .delete(upload.key)
        .catch((err) => deps.log.warn({ err, uploadId: upload.id }, 'could not delete a refused upload'));
    if (count) await deps.pubsub.publish('uploadSettled', upload.id, { uploadId: upload.id, status });
  }

  async function analyze(job: Job): Promise<string> {
    const { uploadId } = analyzeJobSchema.parse(job.data);
    const upload = await deps.prisma.upload.findUnique({ where: { id: uploadId } });
    if (upload?.status !== 'PENDING') return 'skipped';
    try {
      const bytes = await deps.storage.get(upload.key);
      if (bytes.length !== upload.size)
        throw new UploadRefused(`the stored file is ${bytes.length} bytes, but createUpload was told ${upload.size}`);
      const format = uploadFormat(upload.contentType);
      if (!format) throw new UploadRefused(`its content type (${upload.contentType}) is not one we decode`);
      const decoded = await decodeUpload(bytes, format, deps.config.UPLOAD_MAX_DURATION_SEC);
      const frames = decoded.audio.left.length;
      const window = Math.min(frames, DETECT_WINDOW_SEC * SAMPLE_RATE);
      const found = detect(mono([decoded.audio.left.subarray(0, window), decoded.audio.right.subarray(0, window)]), SAMPLE_RATE);
      const loudness = integratedLoudness(decoded.audio);
      await settle(upload, {
        status: 'READY',
        error: null,
        durationSec: decoded.durationSec,
        sampleRate: decoded.sampleRate,
        channels: decoded.channels,
        bpm: Math.round(found.bpm * 10) / 10,
        musicalKey: keyName(found.key),
        loudnessLufs: Number.isFinite(loudness) ? loudness : null,
      });
      deps.log.info({ uploadId, durationSec: decoded.durationSec, bpm: found.bpm, key: keyName(found.key) }, 'upload analysed');
      return 'ready';
    } catch (err) {
      if (err instanceof UploadRefused) {
        deps.log.info({ uploadId, reason: err.message }, 'upload refused');
        await settle(upload, { status: 'FAILED', error: err.message });
        return 'refused';
      }
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      deps.log.warn({ err, uploadId, attempt: job.attemptsMade + 1, last }, 'upload analysis failed');
      if (last)
        await settle(upload, {
          status: 'FAILED',
          error: 'the file could not be analysed (storage or database unavailable); upload it again',
        }).catch(() => {});
      throw err;
    }
  }

  return analyze;
}
