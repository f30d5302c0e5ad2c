# Two entry points: `make run` and `make test`.  Both install what is missing
# on a fresh Debian machine: system packages, a .venv, the package, npm assets.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-noto-cjk fonts-symbola libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils \
	chromium graphviz tesseract-ocr tesseract-ocr-chi-sim postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test system venv assets lint bench clean

system:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel

venv: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

assets:
	@bash tools/install-assets.sh

run: system venv assets
	$(BIN)/pserve development.ini

test: system venv assets
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadfile tests

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: venv
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info
