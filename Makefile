# Caredesk: `make run` starts the desk, `make test` checks everything. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium

.PHONY: run test install system-deps lint typecheck unit models clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/caredesk migrate
	$(BIN)/caredesk demo
	$(BIN)/caredesk serve

# Debian packages the tests need: chromium for the browser tests, Noto fonts so Telugu,
# Devanagari and Urdu render as glyphs (not boxes) in screenshots.
system-deps:
	@if [ ! -x $(CHROMIUM) ] || ! dpkg -s fonts-noto-core fonts-noto-color-emoji >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-core fonts-noto-color-emoji >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check src tests bench scripts migrations/env.py
	$(BIN)/ruff format --check src tests bench scripts migrations/env.py

typecheck: install
	$(BIN)/mypy src
	$(BIN)/lint-imports

unit: install system-deps
	$(BIN)/pytest

test: lint typecheck unit

models: install
	$(BIN)/python scripts/train_triage.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
