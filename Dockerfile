# syntax=docker/dockerfile:1
# threadbridge's image (docs/operations.md, "The image"): Node 24, production dependencies only,
# the fonts the digest chart draws with, a non-root user and a health check. One image for every
# role: `web`, `worker`, `migrate` or `start` (the default) as its command.
#
#   docker build -t threadbridge .
#   docker run --env-file .env -p 3000:3000 threadbridge web

ARG NODE_IMAGE=node:24-bookworm-slim

# Dependencies in their own stage: the final image gets node_modules without npm's cache, and a
# change to the code reuses this layer.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one (@napi-rs/canvas ships its binary as a
# per-platform package); the `node` devDependency, which has one, is left out with the others.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# The digest chart (src/digest/chart.ts) draws its text in DejaVu Sans; the slim image has no fonts.
RUN apt-get update \
  && apt-get install -y --no-install-recommends fonts-dejavu-core \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json LICENSE ./
COPY bin ./bin
COPY src ./src
COPY adapters ./adapters
COPY migrations ./migrations
COPY manifest ./manifest
# The embedded database (no DATABASE_URL) lives in DATA_DIR: mount a volume there to keep it.
# Node's compile cache (bin/threadbridge.js) in the image, filled at build time: every module's
# stripped TypeScript and V8 code, so a container's first start neither loads the type stripper nor
# compiles (a first `web` idles at about 102 MiB instead of 123; bench/README.md, Memory). It is
# keyed by path and content, so it is filled here, where the files run, by the image's Node.
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN mkdir -p /data /app/.node-compile-cache && chown node:node /data /app/.node-compile-cache
# The node image's unprivileged user (uid 1000).
USER node
RUN node bin/warm-compile-cache.js
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["node", "bin/healthcheck.js"]
# A young generation of at most 2 × 8 MiB: V8's default on this kind of machine let it grow to 64 MiB
# under webhook load, the largest part of the web process's peak memory (bench/README.md, Ingest).
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/threadbridge.js"]
CMD ["start"]
