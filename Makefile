# baclofen-cds — two commands: `make run` (the service, sandbox defaults) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint typecheck pytest bench clean install fhirserver

# The independent FHIR server of the fetch-mode tests (Medplum on Node, tests/fhirserver): its
# npm packages, pinned by package-lock.json, installed when Node is there (else those tests skip).
FHIRSERVER := tests/fhirserver
FHIRSERVER_DEPS := $(FHIRSERVER)/node_modules/.package-lock.json
NODE := $(shell command -v node 2>/dev/null)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,tracing]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

$(FHIRSERVER_DEPS): $(FHIRSERVER)/package-lock.json $(FHIRSERVER)/package.json
	cd $(FHIRSERVER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

fhirserver: $(FHIRSERVER_DEPS)

## Run the service on 127.0.0.1:8080 with embedded defaults: SQLite file in ./var,
## sandbox mode (authentication OFF — the log says so), browser sandbox at /sandbox.
run: $(STAMP)
	CDS_AUTH=off CDS_LOG_FORMAT=text $(BIN)/baclofen-cds serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check cds_service tests fhir_fixtures

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(if $(NODE),$(FHIRSERVER_DEPS))
	PYTHONHASHSEED=0 $(BIN)/python -m pytest

## Install what the tests need and run them all (lint, types, unit, HTTP, integration).
test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m tests.perf.bench
	$(BIN)/python -m tests.perf.terminology
	$(BIN)/python -m tests.perf.auth --calls 1000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(FHIRSERVER)/node_modules
