import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../../src/modules/auth/tokens.js';

const SECRET = 'a test secret that is long enough for HS256 keys';
const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];

describe('TokenService', () => {
  it('verifies a token, and again from memory, with the same viewer', async () => {
    const tokens = new TokenService(SECRET, 3600);
    const token = await tokens.sign({ id: u1, role: 'ADMIN' });
    expect(await tokens.verify(token)).toMatchObject({ viewer: { id: u1, role: 'ADMIN' } });
    expect(await tokens.verify(token)).toMatchObject({ viewer: { id: u1, role: 'ADMIN' } });
  });

  it('does not remember a token past its expiry', async () => {
    const tokens = new TokenService(SECRET, 2); // exp = iat + 2 s, iat in whole seconds
    const token = await tokens.sign({ id: u2, role: 'USER' });
    expect(await tokens.verify(token)).toMatchObject({ viewer: { id: u2, role: 'USER' } });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await tokens.verify(token)).toEqual({ error: 'Token expired, log in again' });
  });

  it('refuses a tampered token or one signed with another secret, whatever it verified before', async () => {
    const tokens = new TokenService(SECRET, 3600);
    const token = await tokens.sign({ id: u3, role: 'USER' });
    await tokens.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'ADMIN' }));
    expect(await tokens.verify(`${header}.${forged.toString('base64url')}.${signature}`)).toEqual({ error: 'Invalid token' });
    const other = await new TokenService(`${SECRET}!`, 3600).sign({ id: u3, role: 'USER' });
    expect(await tokens.verify(other)).toEqual({ error: 'Invalid token' });
  });

  it('refuses a correctly signed token whose claims have the wrong shape', async () => {
    const tokens = new TokenService(SECRET, 3600);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ role: 'USER', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('dawg')
        .setAudience('dawg-api')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
    // Without ver or jti (tokens from before them) it verifies: only the shape is refused below.
    expect(await tokens.verify(await sign({ sub: u1 }))).toMatchObject({ viewer: { id: u1, role: 'USER' } });
    // A uuid spelled in upper case is the same user: its viewer id is the lower-case one PostgreSQL gives back.
    expect(await tokens.verify(await sign({ sub: u1.toUpperCase() }))).toMatchObject({ viewer: { id: u1 } });
    for (const claims of [{ sub: 'u1' }, { sub: 1 }, { sub: u1, role: 'ROOT' }, { sub: u1, ver: 0.5 }, { sub: u1, jti: {} }])
      expect(await tokens.verify(await sign(claims))).toEqual({ error: 'Invalid token' });
  });
});
