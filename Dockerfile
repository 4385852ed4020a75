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

RUN useradd --system --uid 10001 omniroute
USER omniroute
EXPOSE 8000
CMD ["python", "app.py"]
