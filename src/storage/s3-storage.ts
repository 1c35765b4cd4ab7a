/** S3 storage (AWS S3, MinIO, R2, any S3 API via endpoint + path-style), presigned GET URLs. */
import type { S3Client } from '@aws-sdk/client-s3';
import { importForFeature } from '../lazy-module.js';
import {
  SIGNED_URL_TTL_SEC,
  type SignedUrlOptions,
  type Storage,
  type UploadUrl,
  type UploadUrlOptions,
  assertSafeKey,
} from './storage.js';

export interface S3Options {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** The SDK's modules and the client, loaded when S3 storage is set up (src/lazy-module.ts). */
async function loadSdk(options: S3Options) {
  const [s3, presigner] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]);
  const client: S3Client = new s3.S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
  });
  return { ...s3, getSignedUrl: presigner.getSignedUrl, client };
}

export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  private readonly sdk: ReturnType<typeof loadSdk>;

  constructor(private readonly options: S3Options) {
    this.sdk = importForFeature(() => loadSdk(options));
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    assertSafeKey(key);
    const { client, PutObjectCommand } = await this.sdk;
    await client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async get(key: string): Promise<Buffer> {
    assertSafeKey(key);
    const { client, GetObjectCommand } = await this.sdk;
    const res = await client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async size(key: string): Promise<number | null> {
    assertSafeKey(key);
    const { client, HeadObjectCommand } = await this.sdk;
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    const { client, DeleteObjectCommand } = await this.sdk;
    await client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  /** A presigned PUT with the content type and length signed: S3 refuses a body of another size or type. */
  async uploadUrl(key: string, { contentType, bytes, expiresInSec }: UploadUrlOptions): Promise<UploadUrl> {
    assertSafeKey(key);
    const { client, PutObjectCommand, getSignedUrl } = await this.sdk;
    const command = new PutObjectCommand({
      Bucket: this.options.bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: bytes,
    });
    const url = await getSignedUrl(client, command, {
      expiresIn: expiresInSec,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return { url, method: 'PUT', headers: { 'content-type': contentType } };
  }

  /** Presigned by the SDK; the link points at S3 (or S3_ENDPOINT), so `baseUrl` does not apply. */
  async signedUrl(key: string, { expiresInSec = SIGNED_URL_TTL_SEC }: SignedUrlOptions = {}): Promise<string> {
    assertSafeKey(key);
    const { client, GetObjectCommand, getSignedUrl } = await this.sdk;
    return getSignedUrl(client, new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {
      expiresIn: expiresInSec,
    });
  }

  destroy(): void {
    this.sdk.then(({ client }) => client.destroy()).catch(() => {});
  }
}
