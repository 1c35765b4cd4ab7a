/**
 * Node options and environment the api process is started with, by `npm start` (scripts/start.mjs),
 * the benchmarks (scripts/bench/lib.ts) and the local cluster (scripts/topology/cluster-local.ts);
 * each variable unless the environment already sets it. The image's default command (Dockerfile) and
 * the manifests (deploy/k8s/base/api-deployment.yaml; docker-compose.yml, whose api runs the image's
 * command) carry the same, as test/unit/deploy-manifests.test.ts checks.
 *
 * MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's collector threads, libuv's pool)
 * an arena of its own, up to 8 per core, and keeps what a burst freed in them. With 10,000 sockets
 * the api's malloc held 99 MiB after a connection storm, 76 of them in four such arenas; with two
 * arenas, 86 MiB (docs/benchmarks.md, "the api's memory with 10,000 sockets"). The api allocates on its main
 * thread, so two arenas cost it nothing measurable. The worker keeps glibc's default: its audio
 * threads allocate in parallel.
 */
export const API_ENV_DEFAULTS = { MALLOC_ARENA_MAX: '2' };

/**
 * --min-semi-space-size=16: V8's young generation keeps a 16 MiB semi-space, the most Node 20 grows it
 * to by default on 64-bit. A collection while little is being allocated (the idle heap trim, V8's own
 * memory reducer) otherwise shrinks it to 1 MiB, and the first fan-out after a quiet spell then
 * starts in that small space while it grows back (docs/benchmarks.md, "the young generation kept").
 *
 * --no-allocation-site-pretenuring: V8 allocates an object straight in old space when objects from
 * the same place in the code outlived scavenges before. The api's per-request objects (the HTTP request,
 * its headers and body, the context, Prisma's query arguments) die within milliseconds, but were put
 * there all the same: under generateBeat at 200/s, old space grew 30 MB in 30 s with pretenuring on,
 * 5.9 MB with this option, so V8's major collections, the requests' slowest moments, should come
 * about five times less often (docs/benchmarks.md, "per-request objects allocated young").
 *
 * Node refuses these options in NODE_OPTIONS, so they are on the command line (`npm run api` in
 * package.json too, which test/unit/api-env.test.ts checks).
 */
export const API_NODE_ARGS = ['--min-semi-space-size=16', '--no-allocation-site-pretenuring'];

/** API_ENV_DEFAULTS, each overridden by `env` where set there. */
export function apiEnv(env = process.env) {
  return Object.fromEntries(Object.entries(API_ENV_DEFAULTS).map(([name, value]) => [name, env[name] || value]));
}
