# verso container image.
#
# Decision: this image does NOT include Java, so it never runs verso's embedded DynamoDB Local
# (that mode is for `npm start` on a workstation). The container must be pointed at a DynamoDB:
#   - DYNAMODB_ENDPOINT=http://host:8000 (DynamoDB Local, e.g. the `dynamodb` service of docker-compose.yml), or
#   - real AWS: AWS_REGION plus credentials from the SDK's default chain (task role, AWS_ACCESS_KEY_ID/…).
# Outside the embedded mode AUTH_MODE must be set explicitly (only `none` exists in this version).
# Without any of that, verso would try to start Java and exit with an error saying so.
#
# Build: docker build -t verso .      Run: see docker-compose.yml

# ---- build: compile TypeScript to dist/ ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The history console (CONSOLE_ENABLED): bundled into dist/console by the same npm run build.
COPY console ./console
COPY scripts/build-console.mjs ./scripts/
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM node:22-bookworm-slim
# dumb-init as PID 1: forwards SIGTERM to node (graceful drain in src/bin/server.ts) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends dumb-init \
  && rm -rf /var/lib/apt/lists/*
# Prometheus metrics on a listener of their own (GET /metrics on 9464), never on the API port: publish or route
# 3000 to clients and leave 9464 to the scraper's network. Unset METRICS_PORT (METRICS_PORT=) to turn them off.
ENV HOST=0.0.0.0 PORT=3000 METRICS_HOST=0.0.0.0 METRICS_PORT=9464 NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 9464
# Readiness (DynamoDB answers), probed with node itself: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
# The V8 flags are npm start's: without the first the old generation grows to 3-4x its live size before a full
# GC; the second halves the young generation (32 -> 16 MB), which sits whole in RSS. docs/performance.md has both.
CMD ["node", "--heap-growing-percent=50", "--max-semi-space-size=8", "dist/bin/server.js"]
