# syntax=docker/dockerfile:1
# One image for the api (default command) and the generation worker:
#   docker run IMAGE                                   -> api on PORT (4000)
#   docker run IMAGE node dist/worker/main.js          -> worker (health and metrics on WORKER_PORT, 9465)
#   docker run IMAGE node dist/scripts/db/migrate.js   -> apply migrations, exit 0
# See docs/deploying.md.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every dependency, the Prisma client, the GraphiQL bundle, then tsc into dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# What `npm ci`'s postinstall needs (prisma generate, scripts/fetch-graphiql.mjs), before the
# sources, so that editing src/ does not reinstall node_modules.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
# fetch-graphiql.mjs only warns when the registry is out of reach; the mkdir keeps the runtime
# stage's COPY of its directory valid then (the api falls back to yoga's CDN page).
RUN npm ci --no-audit --no-fund && mkdir -p node_modules/.cache/dawg-graphiql
COPY . .
RUN npm run build

# --- runtime: production dependencies and the compiled output only ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's postinstall (prisma generate, the GraphiQL download) did its work
# in the build stage, whose output is in dist/ and copied below; @prisma/engines' download is not
# needed (the client runs over node-postgres and migrations use @prisma/schema-engine-wasm). Native
# modules (@node-rs/argon2, msgpackr-extract) come as prebuilt per-platform packages, no build step.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
# GraphiQL's self-hosted bundle (only served when GRAPHIQL=true; off in production by default).
COPY --from=build /app/node_modules/.cache/dawg-graphiql ./node_modules/.cache/dawg-graphiql
COPY deploy/docker/healthcheck.mjs ./healthcheck.mjs
# The code stays root-owned and read-only to the app; only the local storage driver's directory is
# writable (STORAGE_DRIVER=local, STORAGE_DIR=./storage).
RUN mkdir -p storage && chown node:node storage
USER node
EXPOSE 4000 9464 9465
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "healthcheck.mjs"]
# node itself is PID 1 and the entry points handle SIGTERM (drain, then exit 0).
CMD ["node", "--min-semi-space-size=16", "--no-allocation-site-pretenuring", "dist/src/main.js"]
