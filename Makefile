# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bench lint check-deploy venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@py="$$(scripts/find-python)" || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "Creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[test,dev]"
	@rm -f $(VENV)/.installed-*; touch $@

.env:
	cp .env.example .env

## make run: install, migrate, demo data, sync the catalog, start web + worker + beat (+ sandbox).
run: venv .env
	@scripts/run

## make test: the whole suite; PostgreSQL/Redis tests run when DATABASE_URL/REDIS_URL point at them.
test: venv .env
	scripts/with-services $(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: the benchmarks at full size on PostgreSQL (README, "Benchmarks"); the table is
## printed at the end and kept in var/bench/results-full.json. `make test` runs them small.
bench: venv .env
	BENCH_FULL=1 scripts/with-services $(BIN)/python -m pytest tests/bench $(PYTEST_ARGS)

lint: venv .env  # mypy's django-stubs plugin loads the settings
	$(BIN)/ruff check .
	$(BIN)/mypy panel catalog billing orders content support

check-deploy: venv
	DEBUG=0 SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=panel.example.com DATABASE_URL=sqlite:///var/check.sqlite3 \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var/celery var/staticfiles
