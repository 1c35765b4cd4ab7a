import type { Db } from '../../db/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { User } from '../../generated/prisma/client.js';
import { AppError, badInput, rateLimited } from '../../errors.js';
import type { Limiters } from '../../rate-limit.js';
import { parseInput, rejectNul } from '../../validation.js';
import { credentialsRules } from './auth.rules.js';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './password.js';
import type { TokenService } from './tokens.js';
import type { Viewer } from './viewer.js';

export interface AuthPayload {
  token: string;
  user: User;
}

/**
 * Accounts. What an anonymous caller can learn about which emails exist: logIn answers the same
 * error, in the same time, for an unknown email and a wrong password. signUp does say an email is
 * taken (there is no email verification to hide it behind), so it is limited per client IP
 * (SIGNUPS_PER_IP_PER_HOUR) and costs the same time either way; see docs/api-guide.md.
 */
export class AuthService {
  constructor(private readonly deps: { prisma: Db; tokens: TokenService; limiters: Limiters }) {}

  async signUp(input: { email: string; password: string }, clientIp: string | null): Promise<AuthPayload> {
    const { email, password } = parseInput(credentialsRules, input);
    await this.limit(this.deps.limiters.signUpIp, ip(clientIp));
    const passwordHash = await hashPassword(password);
    try {
      const user = await this.deps.prisma.user.create({ data: { email, passwordHash } });
      return { token: await this.deps.tokens.sign(user), user };
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw badInput('email', 'is already registered');
      }
      throw err;
    }
  }

  async logIn(input: { email: string; password: string }, clientIp: string | null): Promise<AuthPayload> {
    rejectNul(input);
    const email = input.email.trim().toLowerCase().slice(0, 254);
    // Counted before the hash, so neither one address nor one account can keep the hashing pool busy.
    await this.limit(this.deps.limiters.loginIp, ip(clientIp));
    await this.limit(this.deps.limiters.loginAccount, `email:${email}`);
    const user = await this.deps.prisma.user.findUnique({ where: { email } });
    const password = input.password.slice(0, 128);
    // Hash even for unknown emails so timing does not reveal which emails exist.
    const { ok, rehash } = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
    if (!user || !ok) throw new AppError('UNAUTHENTICATED', 'Invalid email or password');
    await this.deps.limiters.loginAccount.reset(`email:${email}`);
    if (rehash) {
      // An older scheme or weaker parameters: replace it now that the password is known. Only if the
      // hash is still the one checked, so a password changed meanwhile is not overwritten.
      const passwordHash = await hashPassword(password);
      await this.deps.prisma.user.updateMany({ where: { id: user.id, passwordHash: user.passwordHash }, data: { passwordHash } });
    }
    return { token: await this.deps.tokens.sign(user), user };
  }

  /** Revokes the token this request came with (a per-token denylist in Redis until its expiry). */
  async logOut(viewer: Viewer): Promise<boolean> {
    await this.deps.tokens.revoke(viewer);
    return true;
  }

  /** Revokes every token of the user signed so far (the user's token version is bumped). */
  async logOutEverywhere(viewer: Viewer): Promise<boolean> {
    await this.deps.tokens.revokeAll(viewer);
    return true;
  }

  private async limit(limiter: Limiters[keyof Limiters], key: string): Promise<void> {
    const result = await limiter.consume(key);
    if (!result.allowed) throw rateLimited(result.retryAfter);
  }
}

const ip = (clientIp: string | null) => `ip:${clientIp ?? 'unknown'}`;
