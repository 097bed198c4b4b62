# The two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := dev

.PHONY: test lint typecheck pytest demo bench clean services venv node

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-$(EXTRAS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(VENV)/.installed-$(EXTRAS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: venv
	$(BIN)/mypy

services:
	@sh scripts/services.sh

# The real OpenID provider the OAuth tests run against (npm oidc-provider@9),
# installed into an ignored folder next to its test server script.
NODE_PROVIDER := tests/oauth/node/node_modules/oidc-provider/package.json
$(NODE_PROVIDER): tests/oauth/node/package.json
	cd tests/oauth/node && npm install --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_PROVIDER)

pytest: venv services node
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: venv services
	$(BIN)/python benchmarks/validate_session.py
	$(BIN)/python benchmarks/adapters.py
	$(BIN)/python benchmarks/starlette_middleware.py

demo:
	@echo "The demo app arrives with issue 6 (see README); nothing to run yet." >&2
	@exit 1

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis dist build tests/oauth/node/node_modules
