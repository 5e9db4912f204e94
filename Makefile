# Discharge coordination platform. `make run` and `make test` are the quick start (README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: runtime install run up down status test test-fast lint docs bench chaos simulate simulate-check clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17 is needed for the Kafka broker: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka's jars: apt-get install -y maven"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

runtime: $(STAMP) ## what the platform itself needs: virtualenv, Python packages and Kafka's jars
	$(PY) infra/kafka/broker.py install

install: runtime ## and what the tests need besides: the AsyncAPI validator, Debian's Chromium and kcat
	@if [ ! -x infra/asyncapi/node_modules/.bin/asyncapi ]; then \
		if command -v npm >/dev/null; then npm ci --prefix infra/asyncapi --no-audit --no-fund; \
		else echo "npm not found: the AsyncAPI validation tests need Node.js and npm (apt-get install -y nodejs npm)"; fi; \
	fi
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }) \
		|| { echo "could not install chromium: run apt-get install -y chromium"; exit 1; }; }
	@command -v kcat >/dev/null || { echo "installing Debian's kcat for the vendor contract test (a non-Python Kafka client)"; \
		(apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq kcat; }) \
		|| { echo "could not install kcat: run apt-get install -y kcat"; exit 1; }; }

run: runtime ## everything in the foreground with a demo feed; Ctrl-C stops it all
	$(PY) -m infra.stack run

up: runtime ## everything in the background; returns when every /health is 200
	$(PY) -m infra.stack up

down: ## stop services and broker
	@if [ -x $(PY) ]; then $(PY) -m infra.stack down; fi

status:
	$(PY) -m infra.stack status

test: install ## the whole suite on a real Kafka broker (started from the jars if none is given)
	$(PY) -m pytest -p no:cacheprovider

test-fast: install ## unit and component tests only (no broker)
	$(PY) -m pytest -p no:cacheprovider tests/unit tests/component

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: runtime ## throughput, latency and cost against the raw broker in the same run; var/bench/result.json
	$(PY) -m infra.bench $(BENCH_ARGS)

chaos: runtime ## the long fault and hostile-input run (crashes, broker and database faults, fuzzing); var/chaos/result.json
	$(PY) -m infra.chaos $(CHAOS_ARGS)

simulate: runtime ## a seeded month of a region's discharges on simulated time; var/sim/report.html and result.json
	$(PY) -m infra.simulate $(SIM_ARGS)

simulate-check: runtime ## the same scenario twice with one seed: identical outcome figures, or exit 1
	$(PY) -m infra.sim_repeat $(SIM_ARGS)

docs: runtime ## published contracts: AsyncAPI, OpenAPI, JSON Schemas under docs/
	$(PY) -m infra.contracts

clean: down
	rm -rf var
