/**
 * What the api takes as a uuid, and how it spells one: any 8-4-4-4-12 hex uuid, as PostgreSQL's uuid
 * type reads it (no RFC version or variant demanded), in lower case, as PostgreSQL gives ids back. One
 * spelling per id: a user's revocation keys and counts, cache keys and channels name them as stored.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `value` spelled as PostgreSQL spells it, or null when it is not a uuid. */
export function canonicalUuid(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}
