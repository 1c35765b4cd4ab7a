/** HS256 JWTs with jose: `sub` = user id, `role`, 24 h expiry by default. */
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Viewer } from './viewer.js';

const ISSUER = 'dawg';
const AUDIENCE = 'dawg-api';

export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(viewer: Viewer): Promise<string> {
    return new SignJWT({ role: viewer.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(viewer.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The viewer, or a reason the token is refused. */
  async verify(token: string): Promise<{ viewer: Viewer } | { error: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const role = payload.role === 'ADMIN' ? 'ADMIN' : 'USER';
      if (typeof payload.sub !== 'string') return { error: 'Invalid token' };
      return { viewer: { id: payload.sub, role } };
    } catch (err) {
      return { error: err instanceof errors.JWTExpired ? 'Token expired, log in again' : 'Invalid token' };
    }
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
