/**
 * Environment the api process is started with, by `npm start` (scripts/start.mjs) and by the
 * benchmarks (scripts/bench/lib.ts), unless the variable is already set. The manifests set the same
 * (deploy/k8s/base/api-deployment.yaml, docker-compose.yml).
 *
 * MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's collector threads, libuv's pool)
 * an arena of its own, up to 8 per core, and keeps what a burst freed in them. With 10,000 sockets
 * the api's malloc held 99 MiB after a connection storm, 76 of them in four such arenas; with two
 * arenas, 86 MiB (docs/benchmarks.md, "the api's memory with 10,000 sockets"). The api allocates on its main
 * thread, so two arenas cost it nothing measurable. The worker keeps glibc's default: its audio
 * threads allocate in parallel.
 */
export const API_ENV_DEFAULTS = { MALLOC_ARENA_MAX: '2' };

/** API_ENV_DEFAULTS, each overridden by `env` where set there. */
export function apiEnv(env = process.env) {
  return Object.fromEntries(Object.entries(API_ENV_DEFAULTS).map(([name, value]) => [name, env[name] || value]));
}
