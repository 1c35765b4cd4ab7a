/** Child processes of the local topologies (scripts/topology): stopping them, and a script's own stop. */
import type { ChildProcess } from 'node:child_process';

/** SIGTERMs every child still running; resolves once all have exited. */
export function stopChildren(children: Iterable<ChildProcess>): Promise<void> {
  return Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

/** Whether this module is the script node was started with (`tsx scripts/…/x.ts`). */
export const isMain = (moduleUrl: string): boolean =>
  Boolean(process.argv[1] && moduleUrl.endsWith(process.argv[1].replace(/.*\//, '')));

/** For a script that runs until Ctrl-C: `stop` on SIGINT or SIGTERM, then exit. */
export function stopOnSignal(stop: () => Promise<unknown>): void {
  const onSignal = async () => {
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
