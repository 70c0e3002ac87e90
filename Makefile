# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The back office's browser toolchain: Debian's Chromium (and a CJK font) for the browser tests, never a
# downloaded browser; htmx and axe-core from npm (package-lock.json), never copied into the repository.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
ASSETS   := node_modules/.installed

.PHONY: run test test-fast bench lint clean screenshots

$(STAMP): pyproject.toml | $(CHROMIUM) $(CJK_FONT) $(ASSETS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM) $(CJK_FONT):
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null

$(ASSETS): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $(ASSETS)

run: $(STAMP)
	$(BIN)/leasecore demo
	$(BIN)/leasecore serve

test: lint
	$(BIN)/pytest -m 'slow or not slow' -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/pytest

# Refreshes docs/screenshots/ (the README shows them) from the browser tests.
screenshots: $(STAMP)
	LEASECORE_SCREENSHOTS=docs $(BIN)/pytest tests/browser -m 'slow or not slow' -p no:cacheprovider -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules leasecore.db leasecore.db-* .pytest_cache .hypothesis
