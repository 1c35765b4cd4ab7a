import { spawnSync } from 'node:child_process';

/**
 * Runs `script` (an ES module run from the repository root, TypeScript imports allowed) in a child
 * process with V8's natives syntax (%HaveSameMap...), and returns what it printed as `RESULT <json>`.
 */
export function runWithNatives<T>(script: string): T {
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = /^RESULT (.*)$/m.exec(run.stdout)?.[1];
  if (!line) throw new Error(`no result: ${run.stderr.slice(0, 500)}`);
  return JSON.parse(line) as T;
}
