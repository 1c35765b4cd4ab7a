/**
 * The signing secrets (JWT_SECRET, FILES_SIGNING_SECRET) when the environment does not set them.
 * There is no built-in default: a key in the source is a key anyone can read, and a server must
 * never accept a credential signed with it. Outside production a random secret is generated once
 * per install and kept in SECRETS_FILE (mode 0600, beside the storage directory), so restarts and
 * the api + worker pair agree. Production requires both variables (src/config.ts).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Config, ConfigError, type EnvConfig, orExit, parseConfig, SECRET_NAMES, withSecrets } from './config.js';

type Stored = Partial<Record<(typeof SECRET_NAMES)[number], string>>;

export interface ResolvedConfig {
  config: Config;
  /** One line for the startup log saying where the secrets came from. */
  message: string;
}

/** Completes `config` with the install's secrets file, creating it when needed (never in production). */
export function resolveSecrets(config: EnvConfig): ResolvedConfig {
  const missing = SECRET_NAMES.filter((name) => !config[name]);
  if (!missing.length)
    return { config: withSecrets(config), message: 'signing secrets: JWT_SECRET and FILES_SIGNING_SECRET from the environment' };
  // parseConfig already refuses a production environment without them; this is a second lock.
  if (config.NODE_ENV === 'production')
    throw new ConfigError(missing.map((name) => `${name}: is required when NODE_ENV=production`));
  const path = config.SECRETS_FILE;
  const created = createSecretsFile(path);
  const stored = readSecretsFile(path);
  const verb = created ? 'generated a random' : 'read the';
  return {
    config: withSecrets(config, stored),
    message: `signing secrets: ${verb} ${missing.join(' and ')} ${created ? 'into' : 'from'} ${path} (mode 0600; set them in the environment to choose your own)`,
  };
}

/** For the api and worker entry points: the full config and the secrets line, or exit 1 with every problem. */
export function loadAppConfigOrExit(): ResolvedConfig {
  return orExit(() => resolveSecrets(parseConfig()));
}

/**
 * Writes a new file of random secrets unless one exists; true when this call created it. The file is
 * written under a temporary name and linked into place, so an api and a worker starting at the same
 * moment both end up reading the one complete file that won.
 */
function createSecretsFile(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const secrets: Stored = Object.fromEntries(SECRET_NAMES.map((name) => [name, randomBytes(48).toString('base64url')]));
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function readSecretsFile(path: string): Stored {
  // Group or world access would share the keys with every account on the host: tighten it.
  if (statSync(path).mode & 0o077) chmodSync(path, 0o600);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ConfigError([`SECRETS_FILE: ${path} is not valid JSON (delete it to generate new secrets)`]);
  }
  const stored: Stored = {};
  for (const name of SECRET_NAMES) {
    const value = (parsed as Record<string, unknown> | null)?.[name];
    if (typeof value !== 'string' || value.length < 32)
      throw new ConfigError([`SECRETS_FILE: ${path} has no ${name} of at least 32 characters`]);
    stored[name] = value;
  }
  return stored;
}
