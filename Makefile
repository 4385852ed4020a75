# OmniRoute: `make run` serves a demo, `make test` runs the whole suite. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# .omniroute/env records where provisioning found PostgreSQL and Redis; the environment wins.
LOAD_ENV := set -a; [ -f .omniroute/env ] && . .omniroute/env; set +a;

.PHONY: help install services db migrate roads seed console run worker api test test-pgbouncer test-fast lint fmt typecheck schema clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip uv
	@$(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

services: ## Find or start PostgreSQL+PostGIS and Redis (installing them when root)
	@bash scripts/provision.sh

db: install services ## Roles, database and migrations up to head
	@$(LOAD_ENV) $(PY) scripts/bootstrap_db.py
	@$(LOAD_ENV) $(VENV)/bin/alembic upgrade head

migrate: install ## alembic upgrade head
	@$(LOAD_ENV) $(VENV)/bin/alembic upgrade head

# The sample network (central Helsinki) unless PBF names another extract.
PBF ?= data/roads/helsinki.osm.pbf
roads: db ## Import a road network: make roads PBF=region.osm.pbf (default: the sample)
	@$(LOAD_ENV) $(PY) scripts/roads.py import $(PBF)

seed: db ## Import the sample road network if none, seed the demo workspace, print its login
	@$(LOAD_ENV) $(PY) scripts/roads.py import --if-empty data/roads/helsinki.osm.pbf
	@$(LOAD_ENV) $(PY) scripts/seed.py

# The console and the API reference page: npm packages pinned by console/package-lock.json,
# bundled into console/dist (served by the app); rebuilt when a source is newer.
CONSOLE_STAMP := console/dist/.built
CONSOLE_SRC := $(wildcard console/src/*) console/package.json console/package-lock.json console/build.mjs

$(CONSOLE_STAMP): $(CONSOLE_SRC)
	@if command -v npm >/dev/null; then \
		cd console && npm ci --no-audit --no-fund --loglevel=error && node build.mjs && touch dist/.built; \
	else echo "npm is not installed: the console is not built (the API serves everything else)"; fi

console: $(CONSOLE_STAMP) ## Build the console and the API reference page when missing or stale

run: seed console ## Set everything up, then serve the API and a worker until Ctrl-C
	@$(LOAD_ENV) $(PY) scripts/serve.py

test: install console ## Set everything up (Redis required), then run the whole suite
	@REQUIRE_REDIS=1 WITH_BROWSER=1 bash scripts/provision.sh
	@$(LOAD_ENV) $(PY) scripts/bootstrap_db.py
	@$(LOAD_ENV) $(VENV)/bin/alembic upgrade head
	@$(LOAD_ENV) $(PY) -m pytest $(PYTEST_ARGS)
	@if [ -z "$(PYTEST_ARGS)" ]; then $(MAKE) --no-print-directory test-pgbouncer; fi

# What must hold behind PgBouncer: sessions, tenancy, the hot vehicle reads and the routing
# writes.
PGBOUNCER_TESTS := tests/test_identity_flow.py tests/test_identity_roles.py \
	tests/test_identity_security.py tests/test_identity_tenancy.py tests/test_tenant_isolation.py \
	tests/test_pooled_tenancy.py tests/test_vehicles.py tests/test_routing_api.py \
	tests/test_routing_flow.py tests/test_routing_graphql.py tests/test_routing_service.py \
	tests/test_routing_planning.py

test-pgbouncer: install ## The identity, tenancy and routing tests through PgBouncer (transaction mode)
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then \
		$(LOAD_ENV) $(PY) scripts/pgbouncer.py -- $(PY) -m pytest -q $(PGBOUNCER_TESTS); \
	else echo "pgbouncer is not installed: the pooled run is skipped"; fi

lint: install ## ruff check, ruff format --check and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

fmt: install ## Format and autofix
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

schema: install ## Export the GraphQL schema to schema.graphql
	@$(VENV)/bin/strawberry export-schema app:schema --output schema.graphql

clean: ## Remove the virtualenv and caches (not the database)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
