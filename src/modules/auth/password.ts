/**
 * Password hashes: argon2id (@node-rs/argon2, PHC strings) at OWASP's recommended minimum,
 * m = 19 MiB, t = 2, p = 1 (about 20-30 ms per hash here, on libuv's thread pool).
 *
 * Older hashes still verify: the seed's "scrypt$N$r$p$salt$hash" (N = 2^15, below OWASP's minimum)
 * and argon2 hashes made with weaker parameters. `verifyPassword` then says `rehash`, and logIn
 * stores a new argon2id hash of the password it has just checked.
 */
import { randomBytes, type ScryptOptions, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { hash, parseOptions, verify } from '@node-rs/argon2';

/** Algorithm.Argon2id: the package's const enum is not available at runtime under isolatedModules. */
const ARGON2ID = 2;
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, ...ARGON2_PARAMS });
}

export interface Verified {
  ok: boolean;
  /** The hash is of an older scheme or weaker parameters: store hashPassword(password) in its place. */
  rehash: boolean;
}

export async function verifyPassword(password: string, stored: string): Promise<Verified> {
  if (stored.startsWith('$argon2')) {
    let ok = false;
    try {
      ok = await verify(stored, password);
    } catch {
      return { ok: false, rehash: false };
    }
    return { ok, rehash: ok && isWeakArgon2(stored) };
  }
  if (stored.startsWith('scrypt$')) {
    const ok = await verifyScrypt(password, stored);
    return { ok, rehash: ok };
  }
  return { ok: false, rehash: false };
}

function isWeakArgon2(stored: string): boolean {
  const o = parseOptions(stored);
  return (
    o.algorithm !== ARGON2ID ||
    o.memoryCost < ARGON2_PARAMS.memoryCost ||
    o.timeCost < ARGON2_PARAMS.timeCost ||
    o.outputLen < 32 ||
    o.saltLen < 16
  );
}

// The seed's scheme, kept only to verify (and then replace) hashes stored before argon2id.
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const [, n, r, p, salt, hashed] = stored.split('$');
  if (!salt || !hashed) return false;
  const expected = Buffer.from(hashed, 'base64url');
  try {
    const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: SCRYPT_MAXMEM,
    });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** A valid hash of a random password: logging in as an unknown email costs the same time as a wrong password. */
export const DUMMY_HASH_PROMISE = hashPassword(randomBytes(12).toString('hex'));
