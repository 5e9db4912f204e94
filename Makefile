# Discharge coordination platform. `make run` and `make test` are the quick start (README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run up down status test test-fast lint docs bench chaos simulate clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17 is needed for the Kafka broker: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka's jars: apt-get install -y maven"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## virtualenv, Python packages and Kafka's jars
	$(PY) infra/kafka/broker.py install

run: install ## everything in the foreground with a demo feed; Ctrl-C stops it all
	$(PY) -m infra.stack run

up: install ## everything in the background; returns when every /health is 200
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

docs: install ## published contracts: AsyncAPI, OpenAPI, JSON Schemas under docs/
	$(PY) -m infra.contracts

clean: down
	rm -rf var
