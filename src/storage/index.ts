import type { Config } from '../config.js';
import { PublicUrl } from '../http/public-url.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

export { LocalStorage, FILES_PATH } from './local-storage.js';
export { S3Storage } from './s3-storage.js';
export { type Storage, type SignedUrlOptions, storageKeys, contentTypeOf, SIGNED_URL_TTL_SEC } from './storage.js';

export function createStorage(config: Config): Storage {
  if (config.STORAGE_DRIVER === 's3') {
    return new S3Storage({
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    });
  }
  // The api passes each request's base URL (src/http/public-url.ts); this one is for links made without one.
  return new LocalStorage(config.STORAGE_DIR, new PublicUrl(config).base, config.FILES_SIGNING_SECRET);
}
