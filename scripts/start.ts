/**
 * `npm start`: the api and one worker on one machine, as two processes (the
 * audio engine is CPU-bound and must not stall the api). Signals are passed
 * on; when either exits, the other is stopped and the exit code kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';

const children: ChildProcess[] = [
  spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { stdio: 'inherit' }),
  spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { stdio: 'inherit' }),
];
let exitCode = 0;
let stopping = false;
const stopAll = (signal: NodeJS.Signals) => {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));
await Promise.all(
  children.map(
    (child) =>
      new Promise<void>((resolve) =>
        child.once('exit', (code) => {
          if (code) exitCode = code;
          if (!stopping) stopAll('SIGTERM');
          resolve();
        }),
      ),
  ),
);
process.exit(exitCode);
