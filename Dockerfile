# Build on Node 24 in production (see docs/); the code and lockfile stay Node 20 compatible.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY core core
COPY routes routes
COPY control control
COPY certs certs
COPY gateway gateway
COPY cli cli
COPY k8s k8s
COPY examples examples
RUN npm ci --ignore-scripts && npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/dist dist
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/examples examples
COPY package.json ./
USER 1337:1337
EXPOSE 8080 8443 15021 15090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--config", "/etc/gatehouse/config"]
