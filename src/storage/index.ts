import type { Config } from '../config.js';
import { PublicUrl } from '../http/public-url.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';
import { inSpan, SpanKind } from '../tracing.js';

export { LocalStorage, FILES_PATH } from './local-storage.js';
export { S3Storage } from './s3-storage.js';
export { type Storage, type SignedUrlOptions, storageKeys, contentTypeOf, SIGNED_URL_TTL_SEC } from './storage.js';

/** The configured driver, its reads and writes traced (src/tracing.ts; no-ops when tracing is off). */
export function createStorage(config: Config): Storage {
  return traced(driver(config), config.STORAGE_DRIVER);
}

function driver(config: Config): Storage {
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

/** Wraps the driver's own put and get in place (so `instanceof LocalStorage` still holds for /files). */
function traced(storage: Storage, system: string): Storage {
  const attributes = (key: string) => ({ 'dawg.storage.driver': system, 'dawg.storage.key': key });
  const put = storage.put.bind(storage);
  const get = storage.get.bind(storage);
  storage.put = (key, body, contentType) =>
    inSpan('storage.put', () => put(key, body, contentType), {
      kind: SpanKind.CLIENT,
      attributes: { ...attributes(key), 'dawg.storage.bytes': body.length },
    });
  storage.get = (key) => inSpan('storage.get', () => get(key), { kind: SpanKind.CLIENT, attributes: attributes(key) });
  return storage;
}
