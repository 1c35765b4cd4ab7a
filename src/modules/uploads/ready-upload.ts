import type { Access } from '../../access/access.js';
import type { Upload } from '../../generated/prisma/client.js';
import { badInput } from '../../errors.js';
import type { Viewer } from '../auth/viewer.js';

/** A track or master plays exactly one source: a generation or an upload (addTrack, masterTrack). */
export function requireOneSource(source: { generationId: string | null; uploadId: string | null }): void {
  if ((source.generationId === null) === (source.uploadId === null))
    throw badInput('generationId', 'give either generationId or uploadId (one of them)');
}

/**
 * An upload used as a source (a track, a mix, a master): one the viewer may `action` under the
 * upload rule, and READY (verified and analysed). The one check addTrack, masterTrack and chat share.
 */
export async function requireReadyUpload(
  access: Access,
  viewer: Viewer,
  id: string,
  field: string,
  action: 'read' | 'write' = 'read',
): Promise<Upload> {
  const upload = await access.upload.require(viewer, id, action);
  if (upload.status !== 'READY') throw badInput(field, `the upload is ${upload.status}, not READY: complete it first`);
  return upload;
}
