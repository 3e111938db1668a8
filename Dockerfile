# Production image for the API and the worker (same image, different command).
# Build: docker build -t threadline .   (not runnable on the dev sandbox: no Docker engine there)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dev/copy-migrations.ts ./dev/
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# Override with `node dist/worker/main.js` for the worker.
CMD ["node", "dist/api/main.js"]
