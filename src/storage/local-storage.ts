/**
 * Local-directory storage. Files are served by the api at
 * /files/<key>?expires=<unix>&signature=<HMAC-SHA256(key + expires)>; a
 * tampered or expired URL is refused. Uploads are PUT to the same path with
 * `bytes` in the signed query and the content type in the signature.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  SIGNED_URL_TTL_SEC,
  type SignedUrlOptions,
  type Storage,
  type UploadUrl,
  type UploadUrlOptions,
  assertSafeKey,
} from './storage.js';

/** How a streamed upload ended (LocalStorage.receive). */
export type Received = 'stored' | 'too-large' | 'too-short' | 'exists';

class TooLarge extends Error {}

export const FILES_PATH = '/files/';

export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  private readonly root: string;

  constructor(
    root: string,
    /** For links made without a request's base URL (PUBLIC_URL or HOST/PORT). */
    private readonly defaultBaseUrl: string,
    private readonly secret: string,
  ) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, key);
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  exists(key: string): Promise<boolean> {
    return access(this.path(key)).then(
      () => true,
      () => false,
    );
  }

  async size(key: string): Promise<number | null> {
    return stat(this.path(key)).then(
      (s) => s.size,
      () => null,
    );
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  sign(key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${key}\n${expires}`).digest('base64url');
  }

  /** A PUT's signature covers the method, size and type too: a download link cannot upload. */
  signPut(key: string, expires: number, bytes: number, contentType: string): string {
    return createHmac('sha256', this.secret).update(`PUT\n${key}\n${expires}\n${bytes}\n${contentType}`).digest('base64url');
  }

  async uploadUrl(key: string, { contentType, bytes, expiresInSec, baseUrl }: UploadUrlOptions): Promise<UploadUrl> {
    assertSafeKey(key);
    const expires = Math.floor(Date.now() / 1000) + expiresInSec;
    const signature = this.signPut(key, expires, bytes, contentType);
    return {
      url: `${this.fileUrl(key, baseUrl)}?expires=${expires}&bytes=${bytes}&signature=${signature}`,
      method: 'PUT',
      headers: { 'content-type': contentType },
    };
  }

  /** Checks a PUT to /files/<key>; the content type is the one the request carries. */
  verifyPut(
    key: string,
    query: URLSearchParams,
    contentType: string,
  ): { ok: true; bytes: number } | { ok: false; reason: string } {
    const exp = Number(query.get('expires'));
    const bytes = Number(query.get('bytes'));
    const signature = query.get('signature');
    if (!signature || !Number.isInteger(exp) || !Number.isInteger(bytes) || bytes < 0)
      return { ok: false, reason: 'invalid signature' };
    try {
      assertSafeKey(key);
    } catch {
      return { ok: false, reason: 'invalid signature' };
    }
    if (!sameSignature(this.signPut(key, exp, bytes, contentType), signature))
      return { ok: false, reason: 'invalid signature (the content-type header must be the one createUpload was given)' };
    if (exp < Date.now() / 1000) return { ok: false, reason: 'link expired' };
    return { ok: true, bytes };
  }

  /**
   * Streams `body` to `key`, stopping as soon as it passes `bytes`; only a body of exactly `bytes`
   * is kept (written aside, then renamed). A key already stored is not overwritten: one PUT per upload.
   */
  async receive(key: string, body: Readable, bytes: number): Promise<Received> {
    const path = this.path(key);
    if (await this.exists(key)) return 'exists';
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.part`;
    let seen = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            seen += chunk.length;
            if (seen > bytes) throw new TooLarge();
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx' }),
      );
      if (seen !== bytes) {
        await rm(tmp, { force: true });
        return 'too-short';
      }
      await rename(tmp, path);
      return 'stored';
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof TooLarge) return 'too-large';
      throw err;
    }
  }

  async signedUrl(key: string, { expiresInSec = SIGNED_URL_TTL_SEC, baseUrl }: SignedUrlOptions = {}): Promise<string> {
    assertSafeKey(key);
    const expires = Math.floor(Date.now() / 1000) + expiresInSec;
    return `${this.fileUrl(key, baseUrl)}?expires=${expires}&signature=${this.sign(key, expires)}`;
  }

  /** /files/<key> on the base URL the client reaches the api at (downloads and uploads alike). */
  private fileUrl(key: string, baseUrl: string | undefined): string {
    const path = key.split('/').map(encodeURIComponent).join('/');
    return `${(baseUrl ?? this.defaultBaseUrl).replace(/\/+$/, '')}${FILES_PATH}${path}`;
  }

  /** Checks a request for /files/<key>; returns the key when the signature is valid and unexpired. */
  verify(
    key: string,
    expires: string | null,
    signature: string | null,
  ): { ok: true } | { ok: false; reason: 'expired' | 'invalid' } {
    const exp = Number(expires);
    if (!expires || !signature || !Number.isInteger(exp)) return { ok: false, reason: 'invalid' };
    try {
      assertSafeKey(key);
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (!sameSignature(this.sign(key, exp), signature)) return { ok: false, reason: 'invalid' };
    if (exp < Date.now() / 1000) return { ok: false, reason: 'expired' };
    return { ok: true };
  }
}

function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
