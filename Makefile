# The two commands a new user needs: `make run` (the server on the embedded defaults) and `make test`.
# Each creates the virtual environment in .venv and installs the project into it on first use: `make run` only
# what the server needs, `make test` (and lint, test-fast, bench) the test tools as well.
# `make lint` and `make test` also install the node tools of sdk-tests/ (the spec linter, the TypeScript SDK
# generator, the browser driver of the docs test) with `npm ci`: they need Node.js >= 20.19 and npm.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_INSTALLED := $(VENV)/.installed-run
INSTALLED := $(VENV)/.installed
NODE_TOOLS := sdk-tests/node_modules
NODE_INSTALLED := $(NODE_TOOLS)/.installed

# The layout rule (README, "Development"): pycodestyle's defaults at 120 columns, but for two checks of lines
# continued inside nested brackets that misjudge the visual alignment this code uses.
LAYOUT_IGNORE := E121,E123,E126,E226,E24,E704,W503,W504,E127,E128
LAYOUT_PATHS := restcomm handlers calls rcml models sip tests contract-tests bench testkit

.PHONY: run cluster test test-fast lint bench clean

$(RUN_INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_INSTALLED)

$(INSTALLED): $(RUN_INSTALLED)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

$(NODE_INSTALLED): sdk-tests/package.json sdk-tests/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "error: node and npm are required (Node.js >= 20.19): the spec linter and the SDK tests run on them" >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || \
		{ echo "error: Node.js >= 20.19 is required, found $$(node --version)" >&2; exit 1; }
	cd sdk-tests && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_INSTALLED)

run: $(RUN_INSTALLED)
	$(BIN)/restcomm serve

# Two nodes on 127.0.0.2 and 127.0.0.3 and Kamailio on 127.0.0.1:5070, on RESTCOMM_DATABASE_URL (PostgreSQL).
cluster: $(INSTALLED)
	$(BIN)/restcomm cluster

lint: $(INSTALLED) $(NODE_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pycodestyle --max-line-length=120 --ignore=$(LAYOUT_IGNORE) --exclude=migrations $(LAYOUT_PATHS)
	$(BIN)/openapi-spec-validator openapi.yaml
	$(NODE_TOOLS)/.bin/spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity=warn

# The suite runs in 4 processes at once (pytest-xdist), each test module over one database on one worker, the
# longest first (tests/support/scheduling.py): most of it waits on SIP timers, media and peers, so 4 processes on
# 2 cores finish it in a third of the time of one (README "Development"). `make test TEST_WORKERS=0` runs it in
# this one process, for a debugger.
TEST_WORKERS ?= 4

# With PYTHONDONTWRITEBYTECODE set (some machines' environments set it), pytest caches none of its assertion
# rewriting and rewrites every module of its plugins' packages (schemathesis, hypothesis: 381 modules) again in
# each of its processes: `pytest --collect-only` took 6.2-7.0 s of CPU so, 2.8 s once the rewritten modules are
# cached; a parallel run pays it in every worker. The test targets let Python write its caches (__pycache__/,
# ignored by git).
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

test: lint
	$(PYTEST) -n $(TEST_WORKERS) --dist loadgroup

# The inner loop: the tests under tests/ but those that start SIP peers, server processes or browsers (marked
# `peers`); the contract run (contract-tests/, schemathesis over every operation) is left to `make test`.
test-fast: $(INSTALLED)
	$(BIN)/ruff check .
	$(PYTEST) -m "not peers" tests

bench: $(INSTALLED)
	$(BIN)/python -m bench.api

clean:
	rm -rf $(VENV) .hypothesis .schemathesis *.egg-info $(NODE_TOOLS) sdk-tests/generated
