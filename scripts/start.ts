/**
 * `npm start`: the api and one worker on one machine, as two processes (the
 * audio engine is CPU-bound and must not stall the api). SIGTERM and SIGINT
 * are passed on; when either child exits, the other is stopped.
 *
 * The exit status says whether something went wrong, so a process manager set
 * to restart on failure does restart: a child that dies on its own by a signal
 * (an out-of-memory kill is SIGKILL, whose exit code is null) or with a non-zero
 * code makes this exit non-zero (128 + the signal's number, as a shell reports
 * it, or the child's code). A child stopped by the signal passed on to it is a
 * clean stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

const children: ChildProcess[] = [
  spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { stdio: 'inherit' }),
  spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { stdio: 'inherit' }),
];
let exitCode = 0;
let sent: NodeJS.Signals | null = null;
const stopAll = (signal: NodeJS.Signals) => {
  sent = signal;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopAll(signal));
await Promise.all(
  children.map(
    (child) =>
      new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          const failure = signal && signal !== sent ? 128 + (constants.signals[signal] ?? 0) : (code ?? 0);
          if (failure && !exitCode) {
            exitCode = failure;
            console.error(
              `dawg: ${child === children[0] ? 'api' : 'worker'} (pid ${child.pid}) ${signal ? `killed by ${signal}` : `exited with ${code}`}; stopping`,
            );
          }
          if (!sent) stopAll('SIGTERM');
          resolve();
        }),
      ),
  ),
);
process.exit(exitCode);
