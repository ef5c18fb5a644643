# syntax=docker/dockerfile:1
#
# One image for both apps; the command picks which one runs:
#   docker run IMAGE                                   -> api    (node dist/apps/api/main.js)
#   docker run IMAGE node dist/apps/worker/main.js     -> worker
#
# Stages: build (all deps, compiles dist/) -> prod-deps (runtime node_modules only)
# -> runtime (slim, non-root, no npm cache, no sources).

# Node 24, the LTS line (20 reached its end of life in April 2026; CI runs the suites on both, README
# Testing). Pinned by digest (the multi-arch index of the tag): what runs is what was reviewed. Refresh with
#   docker buildx imagetools inspect node:24-bookworm-slim --format '{{.Manifest.Digest}}'
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# Every stage that installs packages turns install-time telemetry and update checks off: npm's,
# and @scarf/scarf's (swagger-ui-dist pulls it in; its install script reports downloads unless
# SCARF_ANALYTICS=false; package.json's scarfSettings say the same).

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
ENV SCARF_ANALYTICS=false DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false \
    REDOCLY_TELEMETRY=off NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
# Manifests first, so the dependency layer is cached until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources and build config; .dockerignore keeps out tests, docs, deploy files, dist/
# and node_modules, so any new root config the build needs (webpack.config.js, ...)
# comes along without editing this file.
COPY . .
RUN npm run build \
 && test -f dist/apps/api/main.js \
 && test -f dist/apps/worker/main.js \
 && test -f dist/apps/worker/thread-entry.js

# ---------------------------------------------------------------- prod-deps
# webpack leaves node_modules external, so the runtime needs the production tree.
# --ignore-scripts: no install hook of a dev tool (husky etc.) may run or be needed here.
FROM ${NODE_IMAGE} AS prod-deps
ENV SCARF_ANALYTICS=false DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
# --enable-source-maps: stack traces (GET /tasks/{id}, the console, the logs) name the TypeScript file and line
# through dist/apps/*/main.js.map (webpack.config.js; file names only, no sources in the image). Measured: no
# cost on tasks that succeed, see README Performance.
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Owned by root and not writable by the app user: the app never writes its own code,
# which is also what lets Kubernetes run it with readOnlyRootFilesystem.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY deploy/docker/healthcheck.js ./healthcheck.js
# The PostgreSQL schema (RESULTS_BACKEND=postgres), applied by the same image's migrate step:
#   node node_modules/node-pg-migrate/bin/node-pg-migrate.js up --migrations-dir migrations  (= npm run migrate)
COPY migrations ./migrations

# The official node image ships the unprivileged user "node" (uid 1000).
USER node

# api: HTTP 8080 + metrics 9100; worker: metrics/health 9101.
EXPOSE 8080 9100 9101

# The slim image has no curl: healthcheck.js uses Node's fetch against /health/live
# on the port of whichever app this container runs (see that file).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "healthcheck.js"]

# Node runs as PID 1 and handles SIGTERM itself (graceful shutdown in the apps).
# Compose adds `init: true` to reap zombies; Kubernetes does not need it.
CMD ["node", "dist/apps/api/main.js"]
