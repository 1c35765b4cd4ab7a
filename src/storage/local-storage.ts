/**
 * Local-directory storage. Files are served by the api at
 * /files/<key>?expires=<unix>&signature=<HMAC-SHA256(key + expires)>; a
 * tampered or expired URL is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SIGNED_URL_TTL_SEC, type SignedUrlOptions, type Storage, assertSafeKey } from './storage.js';

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

  sign(key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${key}\n${expires}`).digest('base64url');
  }

  async signedUrl(key: string, { expiresInSec = SIGNED_URL_TTL_SEC, baseUrl }: SignedUrlOptions = {}): Promise<string> {
    assertSafeKey(key);
    const expires = Math.floor(Date.now() / 1000) + expiresInSec;
    const path = key.split('/').map(encodeURIComponent).join('/');
    const base = (baseUrl ?? this.defaultBaseUrl).replace(/\/+$/, '');
    return `${base}${FILES_PATH}${path}?expires=${expires}&signature=${this.sign(key, expires)}`;
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
    const expected = Buffer.from(this.sign(key, exp));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
    if (exp < Date.now() / 1000) return { ok: false, reason: 'expired' };
    return { ok: true };
  }
}
