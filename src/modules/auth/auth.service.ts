import type { Db } from '../../db/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { User } from '../../generated/prisma/client.js';
import { AppError, badInput } from '../../errors.js';
import { parseInput, rejectNul } from '../../validation.js';
import { credentialsRules } from './auth.rules.js';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './password.js';
import type { TokenService } from './tokens.js';

export interface AuthPayload {
  token: string;
  user: User;
}

export class AuthService {
  constructor(private readonly deps: { prisma: Db; tokens: TokenService }) {}

  async signUp(input: { email: string; password: string }): Promise<AuthPayload> {
    const { email, password } = parseInput(credentialsRules, input);
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

  async logIn(input: { email: string; password: string }): Promise<AuthPayload> {
    rejectNul(input);
    const email = input.email.trim().toLowerCase();
    const user = email.length <= 254 ? await this.deps.prisma.user.findUnique({ where: { email } }) : null;
    // Hash even for unknown emails so timing does not reveal which emails exist.
    const ok = await verifyPassword(input.password.slice(0, 128), user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
    if (!user || !ok) throw new AppError('UNAUTHENTICATED', 'Invalid email or password');
    return { token: await this.deps.tokens.sign(user), user };
  }
}
