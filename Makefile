# Every target creates .venv and installs the project when needed: on a fresh machine
# `make demo` and `make test` are the only two commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The Node.js BullMQ producer that tests the queue contract (tests/node); installed only where
# node and npm exist (without them that test skips, or fails under GHL_BRIDGE_TEST_SERVICES=required).
NODE_DIR   := tests/node
NODE_STAMP := $(if $(shell command -v node 2>/dev/null),$(if $(shell command -v npm 2>/dev/null),$(NODE_DIR)/node_modules/.installed-stamp))

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python scripts/check_deps.py
	touch $(STAMP)

# `npm ci` installs exactly the committed lock file (it wipes node_modules first).
$(NODE_DIR)/node_modules/.installed-stamp: $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error >/dev/null
	touch $@

install: $(STAMP) $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/ghl-bridge demo

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench.webhook_ingest
	$(BIN)/python -m bench.action_latency
	$(BIN)/python -m bench.client_overhead
	$(BIN)/python -m bench.rate_limit
	$(BIN)/python -m bench.faults
	$(BIN)/python -m bench.refresh_race
	$(BIN)/python -m bench.key_rotation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(NODE_DIR)/node_modules
