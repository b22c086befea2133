# One image for the gateway and the sample services (docker-compose.yml picks the command).
# Node 26: the Active LTS line since 2026-10-28 (Node 20 left support in April 2026). The code
# itself needs only Node >= 20.19 (package.json engines); .ci/run runs the start-up and store
# tests under the Node line of the final stage's FROM, so this image's runtime is tested, not assumed.
#
# Build stage: every dependency, then `npm run build` (server to dist/, dashboard and IDE with
# Vite) and `npm pack`: package.json "files" is the one list of what ships.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --silent --pack-destination /pkg && mv /pkg/experience-gateway-*.tgz /pkg/gateway.tgz

# Final stage: production dependencies and the packed build only; no TypeScript, tsx or Vite.
# test/production/final-stage.test.ts does the same (npm pack, npm ci --omit=dev, this CMD).
FROM node:26-slim
# /metrics on a port of its own (server.metricsPort), so a proxy or ingress in front of 4000 never
# publishes it: scrape 9464 from inside your network. An empty METRICS_PORT leaves it to the config
# file (the demo config has none: /metrics on 4000, with a warning at start).
ENV NODE_ENV=production HOST=0.0.0.0 METRICS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs its install script (the test above runs without).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
RUN --mount=type=bind,from=build,source=/pkg,target=/pkg tar xzf /pkg/gateway.tgz --strip-components=1 --no-same-owner
USER node
EXPOSE 4000 9464
# /readyz: 200 once the gateway serves (a degraded Redis keeps it ready, with fallback limits).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, not npm: SIGTERM reaches the gateway directly (its stop: src/shutdown/). The flags
# are `npm start`'s (package.json): a 32 MB young generation, so requests in flight are copied by
# fewer scavenges (a refusal flood's CPU per refusal fell by a fifth; bench/README.md).
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
