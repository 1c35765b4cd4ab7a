/**
 * deploy/prometheus/alerts.yml is valid and its promtool unit tests pass (npm run check:alerts);
 * every alert has a severity, a summary and a description, and a test case that fires and one
 * that stays quiet.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'deploy/prometheus/alerts.yml';
const TESTS = 'deploy/prometheus/alerts.test.yml';

function promtool(...args: string[]): { code: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(
      'promtool is not installed: install Prometheus (Debian/Ubuntu: apt-get install prometheus) to check the alert rules',
    );
  if (run.error) throw run.error;
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

const text = (file: string) => readFileSync(new URL(file, `file://${ROOT}`), 'utf8');
/** Each alert's name and its block of alerts.yml. */
const alerts = () =>
  text(RULES)
    .split(/^\s*- alert: /m)
    .slice(1)
    .map((block) => ({ name: block.split('\n')[0]?.trim() as string, block }));

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const { code, output } = promtool('check', 'rules', RULES);
    expect(output).toContain('SUCCESS');
    expect(code, output).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const { code, output } = promtool('test', 'rules', TESTS);
    expect(code, output).toBe(0);
  });

  it('each have a severity, a summary and a description', () => {
    expect(alerts().length).toBeGreaterThanOrEqual(10);
    for (const { name, block } of alerts()) {
      expect(block, name).toMatch(/severity: (critical|warning)\n/);
      expect(block, name).toMatch(/summary: \S/);
      expect(block, name).toMatch(/description: \S/);
    }
  });

  it('each have a test where they fire and one where they stay quiet', () => {
    const cases = text(TESTS)
      .split(/^\s*alertname: /m)
      .slice(1)
      .map((c) => ({
        name: c.split('\n')[0]?.trim(),
        quiet: /^\s*exp_alerts: \[\]/m.test(c.split(/^\s*- interval:/m)[0] ?? ''),
      }));
    for (const { name } of alerts()) {
      const mine = cases.filter((c) => c.name === name);
      expect(
        mine.some((c) => !c.quiet),
        `${name} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.quiet),
        `${name} stays quiet in a test`,
      ).toBe(true);
    }
  });
});
