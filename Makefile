# The two commands a new user needs: `make run` (the server on the embedded defaults) and `make test`.
# Each creates the virtual environment in .venv and installs the project into it on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/restcomm serve

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/openapi-spec-validator openapi.yaml

test: lint
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python -m bench.api

clean:
	rm -rf $(VENV) .hypothesis .schemathesis *.egg-info
