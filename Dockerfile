# One image for the gateway and the sample services (docker-compose.yml picks the command).
# Node 26: the Active LTS line since 2026-10-28 (Node 20 left support in April 2026). The code
# itself needs only Node >= 20.19 (package.json engines); .ci/run runs the start-up and store
# tests under the Node line named here, so this image's runtime is tested, not assumed.
FROM node:26-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV HOST=0.0.0.0
CMD ["npm", "start"]
