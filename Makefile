# The two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := dev

.PHONY: test lint typecheck pytest demo bench clean services venv node browser unasync-check
.PHONY: docs package py-versions mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-$(EXTRAS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(VENV)/.installed-$(EXTRAS)

# The sync code generated from its async source (scripts/generate_sync.py) must be
# up to date: run `$(BIN)/python scripts/generate_sync.py` after editing an _async/ file.
unasync-check: venv
	$(BIN)/python scripts/generate_sync.py --check

lint: venv unasync-check
	$(BIN)/ruff check src tests benchmarks examples scripts/check_wheel.py scripts/check_docs_offline.py scripts/mutation_score.py scripts/generate_sync.py docs/hooks
	$(BIN)/ruff format --check src tests benchmarks examples scripts/check_wheel.py scripts/check_docs_offline.py scripts/mutation_score.py scripts/generate_sync.py docs/hooks

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

# The real browser the demo's test drives: Debian's chromium (Playwright downloads
# no browser of its own). Installed only when missing; sudo only when not root.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; }

pytest: venv services node browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest docs package py-versions

# The documentation site, into site/ (ignored). --strict (also set in mkdocs.yml):
# a broken link, a missing page or an API reference warning fails the build.
# Mermaid is served from the site (the hook adds it when installed). After the build,
# every diagram must render in Chromium with the internet cut off.
MERMAID_JS := docs/node/node_modules/mermaid/dist/mermaid.min.js
$(MERMAID_JS): docs/node/package.json
	cd docs/node && npm install --no-audit --no-fund --loglevel=error
	touch $@

docs: venv $(MERMAID_JS) browser
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python scripts/check_docs_offline.py site

# The sdist and the wheel, their metadata checked by twine, and the wheel
# installed into a clean virtual environment where lucia must work with no extra.
package: venv
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*
	$(BIN)/python scripts/check_wheel.py dist

# A core-only run on the other Python versions: the built wheel with no extra
# plus the test tools in .venv-X.Y, running the tests that import only lucia's
# core and SQLite. A version that is not installed is skipped with a message.
PY_VERSIONS    := 3.12 3.13
CORE_TESTS     := tests/test_core.py tests/test_sessions.py tests/test_cookies.py \
                  tests/test_passwords.py tests/test_csrf.py tests/adapters/test_sqlite.py
CORE_TEST_DEPS := pytest>=8.0 pytest-asyncio>=1.1,<2 pytest-timeout>=2.3 hypothesis>=6.100
py-versions: package
	sh scripts/py-versions.sh "$(BIN)/python -m pip" "$$(ls dist/*.whl)" "$(PY_VERSIONS)" \
	  "$(CORE_TEST_DEPS)" $(CORE_TESTS)

# lucia next to Django, FastAPI-Users, Flask-Login and Starlette on SQLite and
# PostgreSQL, req/s through uvicorn (wrk), the event loop during a sign-in storm,
# and a profile: benchmarks/results/results.md and results.png (see benchmarks/README.md).
# Its own venv: FastAPI-Users pins SQLAlchemy < 2.1, which must not leak into .venv.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: services $(BENCH_VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1) \
		|| echo "wrk could not be installed: the req/s benchmark will be skipped" >&2
	$(BENCH_VENV)/bin/python benchmarks/run_all.py

# Mutation testing of the security core (sessions, cookies, csrf, passwords and
# the OAuth flow's redirect helpers and replay cache), each module against its own
# unit tests, with mutmut in its own venv (.venv-mutation). Not part of `make test`:
# about 15 minutes on 2 cores. MODULES="csrf passwords" runs some. See docs/security.md.
MODULES ?=
mutation:
	sh scripts/mutation.sh $(MODULES)

# `make demo`: the demo app on http://127.0.0.1:8000, data in lucia-demo.sqlite3.
# Options go through DEMO_ARGS, e.g. make demo DEMO_ARGS="--port 8080 --no-dev-provider".
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/lucia demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .venv-3.* .venv-bench .venv-mutation .mutation site .mypy_cache .ruff_cache .pytest_cache .hypothesis dist build tests/oauth/node/node_modules docs/node/node_modules
