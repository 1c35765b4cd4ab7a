/** Runs a TypeScript entry point (through tsx) as a child process; shared by the tests and the benchmarks. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TsProcess {
  child: ChildProcess;
  /** The match of `ready` in the process's output. */
  match: RegExpExecArray;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` (when still running) and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Children still running: a parent that exits (a failed benchmark, a crashed test file) takes them
 * with it rather than leaving them holding ports and CPU.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns `entry` with only PATH and `env` in its environment; resolves once its output matches `ready`. */
export async function spawnTs(
  entry: string,
  env: Record<string, string>,
  ready: RegExp,
  options: {
    timeoutMs?: number;
    nodeArgs?: string[];
    /** Where to run (the repository by default). */
    cwd?: string;
    /** false: plain node, for compiled JavaScript (no tsx loader). */
    tsx?: boolean;
  } = {},
): Promise<TsProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const loader = options.tsx === false ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, entry], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before it was ready:\n${out}`));
    });
  });
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    match,
    output: () => out,
    kill,
    stop: async () => {
      await kill('SIGTERM');
    },
  };
}
