/**
 * Compares two versions of the SDL with @graphql-inspector/core. Breaking changes fail unless
 * docs/CHANGELOG.md lists them (by schema coordinate, e.g. `Message.cost`) under a heading
 * containing "Breaking"; dangerous changes are reported.
 */
import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

export interface SchemaReview {
  breaking: Change[];
  /** Breaking changes not listed in the changelog's Breaking sections. */
  unlisted: Change[];
  dangerous: Change[];
  safe: Change[];
}

export async function reviewSchemaChange(oldSdl: string, newSdl: string, changelog: string): Promise<SchemaReview> {
  const changes = await diff(buildSchema(oldSdl), buildSchema(newSdl));
  const listed = breakingSection(changelog);
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  return {
    breaking,
    unlisted: breaking.filter((c) => !isListed(c, listed)),
    dangerous: changes.filter((c) => c.criticality.level === CriticalityLevel.Dangerous),
    safe: changes.filter((c) => c.criticality.level === CriticalityLevel.NonBreaking),
  };
}

/** The text under every Markdown heading that contains "Breaking", up to the next heading of the same or a higher level. */
export function breakingSection(markdown: string): string {
  const out: string[] = [];
  let level = 0;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const depth = heading[1]?.length ?? 0;
      if (/breaking/i.test(heading[2] ?? '')) level = depth;
      else if (level && depth <= level) level = 0;
      continue;
    }
    if (level) out.push(line);
  }
  return out.join('\n');
}

/** A change is listed when its schema coordinate (`Type.field`, `Type.field.arg`) appears as a word in the section. */
function isListed(change: Change, section: string): boolean {
  if (!change.path) return false;
  const escaped = change.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_.])${escaped}([^A-Za-z0-9_]|$)`).test(section);
}
