# One image for the gateway and the sample services (docker-compose.yml picks the command).
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV HOST=0.0.0.0
CMD ["npm", "start"]
