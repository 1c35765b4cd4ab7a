/**
 * `npm run schema:breaking`: schema/schema.graphql against the version on the previous commit
 * (HEAD when the file has uncommitted changes, else HEAD~1; SCHEMA_BASE_REF overrides). Fails on a
 * breaking change that docs/CHANGELOG.md does not list under a "Breaking" heading.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { reviewSchemaChange } from './breaking-changes.js';

const FILE = 'schema/schema.graphql';
const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const current = readFileSync(FILE, 'utf8');

function baseRef(): string | null {
  if (process.env.SCHEMA_BASE_REF) return process.env.SCHEMA_BASE_REF;
  try {
    const dirty = git('status', '--porcelain', '--', FILE).trim() !== '';
    const ref = dirty ? 'HEAD' : 'HEAD~1';
    git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
    return ref;
  } catch {
    return null;
  }
}

const ref = baseRef();
let previous: string | null = null;
if (ref) {
  try {
    previous = git('show', `${ref}:${FILE}`);
  } catch {
    previous = null; // the file did not exist at that commit
  }
}
if (previous === null) {
  console.log(`schema:breaking: no previous ${FILE} to compare with (${ref ?? 'no parent commit'}); nothing to check`);
  process.exit(0);
}
const review = await reviewSchemaChange(previous, current, readFileSync('docs/CHANGELOG.md', 'utf8'));
const show = (label: string, list: { message: string; path?: string }[]) => {
  for (const c of list) console.log(`  ${label} ${c.message}${c.path ? ` (${c.path})` : ''}`);
};
console.log(
  `schema:breaking: ${FILE} vs ${ref}: ${review.breaking.length} breaking, ${review.dangerous.length} dangerous, ${review.safe.length} safe`,
);
show('dangerous:', review.dangerous);
show(
  'breaking (listed in docs/CHANGELOG.md):',
  review.breaking.filter((c) => !review.unlisted.includes(c)),
);
if (review.unlisted.length) {
  show('BREAKING, not listed:', review.unlisted);
  console.error(
    'schema:breaking: list each breaking change by its coordinate (e.g. `Message.cost`) under a "Breaking" heading in docs/CHANGELOG.md, or keep the schema compatible',
  );
  process.exit(1);
}
