# P360: `make run` serves the API and admin with a demo tenant; `make test` runs the whole suite.
# Without DATABASE_URL both use an embedded PostgreSQL under .data/ (started on demand, stopped after).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT ?= 8000

.PHONY: install run test e2e faults bench chromium pgbouncer-smoke compose-config lint format check-migrations ci db-status db-stop clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "P360 needs Python 3.11+"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	@DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) -m p360.devdb run -- sh -c '\
		$(PY) manage.py migrate --noinput -v 0 && \
		$(PY) manage.py seed_demo --port $(PORT) && \
		exec $(PY) manage.py runserver 0.0.0.0:$(PORT)'

test: install
	@$(PY) -m p360.devdb run -- $(PY) -m pytest $(ARGS)

# Browser tests: Debian's Chromium, driven by Playwright (installed here when missing; needs root for apt).
e2e: install chromium
	@$(PY) -m p360.devdb run -- $(PY) -m pytest -m browser $(ARGS)

# Load and faults (about a minute): its own embedded PostgreSQL, stopped and restarted under load.
faults: install
	@$(PY) scripts/faults.py $(ARGS)

chromium:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The API smoke tests through PgBouncer (session mode) in front of PGBOUNCER_UPSTREAM (default 127.0.0.1:5432);
# installs Debian's pgbouncer when missing (apt, root).
pgbouncer-smoke: install
	@scripts/pgbouncer-smoke $(ARGS)

# docker-compose.yml is valid (no Docker engine needed): `docker compose`, else Debian's docker-compose.
compose-config:
	@if docker compose version >/dev/null 2>&1; then docker compose config --quiet; \
	elif command -v docker-compose >/dev/null; then docker-compose config --quiet; \
	else echo "no docker compose client: apt-get install docker-compose (or the compose plugin)"; exit 1; fi
	@echo "docker-compose.yml: valid"

# Benchmarks (bench/RESULTS.md, bench/results.png): the 1M-user tenant is made once and reused; wrk via apt if missing.
bench: install
	@$(PY) -m p360.devdb run -- $(PY) bench/run.py $(ARGS)

lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: install
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

check-migrations: install
	@DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

ci:
	@bash .ci/run

db-status: install
	@$(PY) -m p360.devdb status

db-stop: install
	@$(PY) -m p360.devdb stop

clean: db-stop
	rm -rf .data $(VENV)
