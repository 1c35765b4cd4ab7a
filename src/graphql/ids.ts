/**
 * Object ids are Relay global ids (base64 of "Type:uuid"), so `node(id)` works
 * and a Project id cannot be mistaken for a Conversation id. Arguments also
 * accept the bare uuid, which is what logs and storage keys show.
 */
import { badInput } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64');
}

/** Decodes any global id; malformed ones are BAD_USER_INPUT on `field`. */
export function decodeGlobalId(value: string, field: string): { typename: string; id: string } {
  const text = value.length <= 200 ? Buffer.from(value, 'base64').toString('utf8') : '';
  const sep = text.indexOf(':');
  const typename = text.slice(0, sep);
  const id = text.slice(sep + 1);
  if (sep < 1 || !/^[A-Z][A-Za-z]*$/.test(typename) || !UUID.test(id) || encodeGlobalId(typename, id) !== value) {
    throw badInput(field, 'is not a valid id');
  }
  return { typename, id: id.toLowerCase() };
}

/** The uuid behind an argument that must name a `typename` (global id or bare uuid). */
export function idOf(typename: string, value: string, field: string): string {
  if (UUID.test(value)) return value.toLowerCase();
  const decoded = decodeGlobalId(value, field);
  if (decoded.typename !== typename) throw badInput(field, `is not a ${typename} id`);
  return decoded.id;
}
