# The service's image (docs/deployment.md). The build stage compiles TypeScript and
# better-sqlite3's native module; the runtime stage holds only production dependencies and the
# compiled output, and runs as the unprivileged `node` user.
#
# We have no Docker engine on our own machines: `npm run check:image` (scripts/check-image.py)
# reads this file and replays it there: the COPY lists against .dockerignore, every `RUN npm ...`
# of the build stage, the runtime stage's copies, its CMD and its HEALTHCHECK. Keep those plain
# (one `RUN npm ...` per step, explicit COPY lists, exec-form CMD and HEALTHCHECK) so it can.

# One base for both stages, so the native module is compiled against the Node and glibc it runs on.
FROM node:20-bookworm-slim AS base
WORKDIR /app

FROM base AS build
# node-gyp's tools: better-sqlite3 is compiled when no prebuilt binary can be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard pages' script, bundled with Chart.js into dist/web by the build (esbuild).
COPY web ./web
COPY scripts/build-web.mjs ./scripts/build-web.mjs
RUN npm run build
RUN npm prune --omit=dev

FROM base AS runtime
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000 \
  DATA_DIR=/data
# The embedded stores (and, when AUTH_JWT_SECRET is unset, the generated token secret) live in
# DATA_DIR; the code stays owned by root, so the service cannot rewrite it.
RUN mkdir -p /data && chown node:node /data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
VOLUME ["/data"]
EXPOSE 3000
# Slim images have no curl: Node's own fetch. Ready means the stores answer (docs/reliability.md).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 is fine here: main.ts handles SIGTERM itself (drains, closes stores, exits 0).
CMD ["node", "dist/main.js"]
