import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { breakingSection, reviewSchemaChange } from '../../scripts/schema/breaking-changes.js';

const current = readFileSync('schema/schema.graphql', 'utf8');
// The committed schema with Message.cost removed (breaking) and a value added to MessageStatus (dangerous).
const changed = current
  .replace(/\n\s*"""USD\."""\n\s*cost: Float!/, '')
  .replace(/enum MessageStatus \{/, 'enum MessageStatus {\n  QUEUED');

describe('schema breaking-change check', () => {
  it('fails on a breaking change the changelog does not list, and reports dangerous ones', async () => {
    expect(changed).not.toBe(current);
    const review = await reviewSchemaChange(current, changed, '# Changelog\n\n### Breaking\n- None.\n');
    expect(review.unlisted.map((c) => c.path)).toEqual(['Message.cost']);
    expect(review.dangerous.map((c) => c.path)).toContain('MessageStatus.QUEUED');
  });

  it('passes when the change is listed under a Breaking heading, not elsewhere', async () => {
    const listed = '## 0.2.0\n### Breaking\n- `Message.cost` removed: use `Generation.cost`.\n### Added\n- Message.costs\n';
    expect((await reviewSchemaChange(current, changed, listed)).unlisted).toEqual([]);
    const elsewhere = '## 0.2.0\n### Added\n- `Message.cost` removed\n### Breaking\n- `Message.costs`\n';
    expect((await reviewSchemaChange(current, changed, elsewhere)).unlisted).toHaveLength(1);
  });

  it('finds nothing between a schema and itself', async () => {
    const review = await reviewSchemaChange(current, current, '');
    expect([...review.breaking, ...review.dangerous, ...review.safe]).toEqual([]);
  });

  it('reads only the Breaking sections of the changelog', () => {
    expect(breakingSection('# A\n## Breaking\nx\n### sub\ny\n## Added\nz\n')).toBe('x\ny');
  });
});
