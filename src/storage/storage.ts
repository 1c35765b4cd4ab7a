/**
 * Object storage: one interface, two drivers (local directory with
 * HMAC-signed URLs served by the api; any S3 API with presigned URLs).
 * Keys follow the original layout: generated/beats/{userId}/{generationId}.mp3, …
 */
export interface Storage {
  readonly driver: 'local' | 's3';
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** The stored object's size in bytes, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Deletes the object; deleting one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /**
   * A short-lived URL the client PUTs one file of exactly `bytes` bytes to, with the headers to send
   * (S3: presigned PUT; local: a signed PUT to the api, streamed to disk with the size enforced).
   */
  uploadUrl(key: string, options: UploadUrlOptions): Promise<UploadUrl>;
  /**
   * A URL that serves the object to anyone holding it until it expires (default SIGNED_URL_TTL_SEC).
   * `baseUrl` is where the client reaches the api (the local driver's links point there); S3 ignores it.
   */
  signedUrl(key: string, options?: SignedUrlOptions): Promise<string>;
}

export const SIGNED_URL_TTL_SEC = 3600;

export interface UploadUrlOptions {
  contentType: string;
  bytes: number;
  expiresInSec: number;
  baseUrl?: string;
}

export interface UploadUrl {
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
}

export interface SignedUrlOptions {
  expiresInSec?: number;
  baseUrl?: string;
}

export const storageKeys = {
  beatMp3: (userId: string, generationId: string) => `generated/beats/${userId}/${generationId}.mp3`,
  beatWav: (userId: string, generationId: string) => `generated/beats/${userId}/${generationId}.wav`,
  beatMidi: (userId: string, generationId: string) => `generated/beats/${userId}/${generationId}.mid`,
  stem: (userId: string, generationId: string, stem: string) => `generated/stems/${userId}/${generationId}-${stem}.wav`,
  upload: (userId: string, uploadId: string, ext: string) => `uploads/${userId}/${uploadId}.${ext}`,
};

/** Keys are made by storageKeys; anything else (.., absolute paths, odd characters) is refused. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9/_.-]{0,500}$/.test(key) || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`unsafe storage key: ${key}`);
  }
}

export const CONTENT_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mid: 'audio/midi',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
};

export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}
