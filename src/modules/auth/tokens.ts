/**
 * HS256 JWTs with jose: `sub` = user id, `role`, `ver` = the user's token version, `jti` = a token id,
 * 24 h expiry by default. A token that verified is remembered until it expires (at most VERIFIED_MAX
 * of them), so a client's next requests skip the signature check: jose's WebCrypto HMAC cost about
 * 0.15 ms of the event loop per request. A remembered token is re-checked against the revocations
 * (logOut, logOutEverywhere: revocations.ts) at most every RECHECK_MS, one Redis round trip, so a
 * revocation on any api instance holds on every instance within about RECHECK_MS. A holder that keeps
 * a token for long (an open graphql-ws socket) keeps its VerifiedToken and `recheck`s it, so a token
 * evicted from the cache is not signature-checked again on every recheck.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { canonicalUuid } from '../../uuid.js';
import type { TokenRevocations } from './revocations.js';
import type { Viewer } from './viewer.js';

const ISSUER = 'dawg';
const AUDIENCE = 'dawg-api';
const VERIFIED_MAX = 10_000;
export const RECHECK_MS = 250;
const REVOKED = 'Token revoked, log in again';
const EXPIRED = 'Token expired, log in again';

/**
 * The claims a token must carry, checked after its signature: a correctly signed token with claims of
 * the wrong shape (a `sub` that is not a uuid, a `ver` that is not a count) is refused like a forged
 * one, rather than reaching PostgreSQL (uuid columns) and failing there as an internal error.
 * `ver` and `jti` are optional: tokens signed before token versions and token ids still verify.
 */
const Claims = z.object({
  // A uuid, spelled as PostgreSQL spells it (src/uuid.ts): one spelling per user for the revocation keys and counts.
  sub: z
    .string()
    .transform(canonicalUuid)
    .pipe(z.string({ error: 'not a uuid' })),
  role: z.enum(['USER', 'ADMIN']),
  ver: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  jti: z.string().min(1).max(128).optional(),
  exp: z.number(),
});

/** A token whose signature and claims verified. */
export interface VerifiedToken {
  readonly viewer: Viewer;
  /** Its expiry, ms since the epoch. */
  readonly expiresAt: number;
  readonly version: number;
  /** When its revocations were last read (ms). */
  checkedAt: number;
  /** Found revoked: refused from then on (a revocation is never undone). */
  revoked: boolean;
}

export class TokenService {
  private readonly key: Uint8Array;
  /** token → its viewer, expiry (ms) and when its revocation was last checked, oldest first. */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    /** Without it (unit tests) tokens cannot be revoked. */
    private readonly revocations?: TokenRevocations,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(user: { id: string; role: Viewer['role']; tokenVersion?: number }): Promise<string> {
    return new SignJWT({ role: user.role, ver: user.tokenVersion ?? 0 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The viewer, or a reason the token is refused. */
  async verify(token: string): Promise<{ viewer: Viewer } | { error: string }> {
    const held = await this.hold(token);
    return 'error' in held ? held : { viewer: held.viewer };
  }

  /** Like verify, returning the verified token itself, for a holder that will `recheck` it (an open socket). */
  async hold(token: string): Promise<VerifiedToken | { error: string }> {
    let known = this.verified.get(token);
    if (known && known.expiresAt <= Date.now()) {
      this.verified.delete(token);
      known = undefined;
    }
    if (!known) {
      const fresh = await this.verifySignature(token);
      if ('error' in fresh) return fresh;
      known = fresh;
    }
    const refused = await this.recheck(known);
    if (refused) return refused;
    if (!this.verified.has(token)) {
      if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, known);
    }
    return known;
  }

  /**
   * Whether a token verified before still holds: not expired, not revoked. Its revocations are read
   * at most every RECHECK_MS (one Redis round trip; PostgreSQL if Redis is away, which may throw).
   */
  async recheck(known: VerifiedToken): Promise<{ error: string } | null> {
    const now = Date.now();
    if (known.expiresAt <= now) return { error: EXPIRED };
    if (this.revocations && !known.revoked && now - known.checkedAt >= RECHECK_MS) {
      // Concurrent requests with this token pass on the previous check meanwhile: one round trip, not one each.
      known.checkedAt = now;
      const { version, revoked } = await this.revocations.check(known.viewer.id, known.viewer.session?.tokenId ?? null);
      if (revoked || version === null || version !== known.version) known.revoked = true;
    }
    return known.revoked ? { error: REVOKED } : null;
  }

  private async verifySignature(token: string): Promise<VerifiedToken | { error: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const claims = Claims.safeParse(payload);
      if (!claims.success) return { error: 'Invalid token' };
      const { sub, role, ver, jti, exp } = claims.data;
      const expiresAt = exp * 1000;
      const viewer: Viewer = { id: sub, role };
      if (jti !== undefined) viewer.session = { tokenId: jti, expiresAt };
      // Tokens from before token versions carry none: version 0, until the first logOutEverywhere.
      const version = ver ?? 0;
      return { viewer, expiresAt, version, checkedAt: 0, revoked: false };
    } catch (err) {
      return { error: err instanceof errors.JWTExpired ? EXPIRED : 'Invalid token' };
    }
  }

  /** logOut: the token behind `viewer` is refused from now on (on other instances within RECHECK_MS). */
  async revoke(viewer: Viewer): Promise<void> {
    if (!this.revocations) throw new Error('TokenService built without revocations');
    if (viewer.session) await this.revocations.revoke(viewer.id, viewer.session.tokenId, viewer.session.expiresAt);
    // A token without an id (signed before ids existed) can only be revoked with all the others.
    else await this.revocations.bump(viewer.id);
    this.forget(viewer.id);
  }

  /** logOutEverywhere: every token of the user signed so far is refused. */
  async revokeAll(viewer: Viewer): Promise<void> {
    if (!this.revocations) throw new Error('TokenService built without revocations');
    await this.revocations.bump(viewer.id);
    this.forget(viewer.id);
  }

  /** This instance refuses at once what it revoked; other instances notice within RECHECK_MS. */
  private forget(userId: string) {
    for (const entry of this.verified.values()) if (entry.viewer.id === userId) entry.checkedAt = 0;
  }

  /** Reads "Bearer <jwt>" (HTTP header or graphql-ws connection_init payload). */
  async fromAuthorization(value: unknown): Promise<{ viewer: Viewer | null; authError: string | null }> {
    if (value === undefined || value === null || value === '') return { viewer: null, authError: null };
    const match = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value.trim()) : null;
    if (!match?.[1]) return { viewer: null, authError: 'Authorization must be "Bearer <token>"' };
    const result = await this.verify(match[1]);
    return 'viewer' in result ? { viewer: result.viewer, authError: null } : { viewer: null, authError: result.error };
  }
}
