/**
 * Object ids are Relay global ids (base64 of "Type:uuid"), so `node(id)` works
 * and a Project id cannot be mistaken for a Conversation id. Arguments also
 * accept the bare uuid, which is what logs and storage keys show.
 * Every malformed id or cursor is BAD_USER_INPUT here, before anything reaches the database.
 */
import { decodeBase64, decodeCursorChunk } from '@pothos/core';
import { badInput } from '../errors.js';
import { canonicalUuid } from '../uuid.js';

export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64');
}

/** The parts of a well-formed global id, or null. */
export function parseGlobalId(value: string): { typename: string; id: string } | null {
  const text = value.length <= 200 ? Buffer.from(value, 'base64').toString('utf8') : '';
  const sep = text.indexOf(':');
  const typename = text.slice(0, sep);
  const raw = text.slice(sep + 1);
  const id = canonicalUuid(raw);
  if (sep < 1 || !/^[A-Z][A-Za-z]*$/.test(typename) || !id || encodeGlobalId(typename, raw) !== value) return null;
  return { typename, id };
}

/** Decodes any global id; malformed ones are BAD_USER_INPUT on `field`. */
export function decodeGlobalId(value: string, field: string): { typename: string; id: string } {
  const decoded = parseGlobalId(value);
  if (!decoded) throw badInput(field, 'is not a valid id');
  return decoded;
}

/** The uuid behind an argument that must name a `typename` (global id or bare uuid). */
export function idOf(typename: string, value: string, field: string): string {
  const bare = canonicalUuid(value);
  if (bare) return bare;
  const decoded = decodeGlobalId(value, field);
  if (decoded.typename !== typename) throw badInput(field, `is not a ${typename} id`);
  return decoded.id;
}

/**
 * An optional id argument: absent (null or not given) is null; anything given must be a valid id,
 * so `""` is BAD_USER_INPUT rather than "no project".
 */
export function optionalIdOf(typename: string, value: string | null | undefined, field: string): string | null {
  return value === null || value === undefined ? null : idOf(typename, value, field);
}

/**
 * Checks a connection's `after`/`before` before the query runs. Our connections page by uuid `id`,
 * and Pothos accepts any cursor of its format ("GPC:" + a tagged value), so a crafted one (a string
 * that is not a uuid, a number...) would otherwise reach PostgreSQL and fail there.
 */
export function checkCursors(args: { after?: string | null; before?: string | null }): void {
  for (const field of ['after', 'before'] as const) {
    const cursor = args[field];
    if (cursor === null || cursor === undefined) continue;
    let value: unknown;
    try {
      const decoded = decodeBase64(cursor);
      value = decoded.startsWith('GPC:') ? decodeCursorChunk(decoded.slice(4)) : undefined;
    } catch {
      value = undefined;
    }
    if (typeof value !== 'string' || !canonicalUuid(value)) throw badInput(field, 'is not a valid cursor');
  }
}
