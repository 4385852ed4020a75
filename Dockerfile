# The console and the API reference page: npm packages pinned by console/package-lock.json,
# bundled by esbuild into console/dist. Only the bundle reaches the final image.
FROM node:20-slim AS console
WORKDIR /build/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/build.mjs ./
COPY console/src src
RUN node build.mjs

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/omniroute

COPY pyproject.toml README.md ./
COPY app.py alembic.ini schema.graphql ./
COPY core core
COPY models models
COPY solvers solvers
COPY services services
COPY dataloaders dataloaders
COPY schema schema
COPY resolvers resolvers
COPY rest rest
COPY tasks tasks
COPY migrations migrations
COPY scripts scripts
COPY data data
RUN pip install .
# app.py serves /console and /api/v1/docs from console/dist beside it.
COPY --from=console /build/console/dist console/dist

RUN useradd --system --uid 10001 omniroute
USER omniroute
EXPOSE 8000
CMD ["python", "app.py"]
