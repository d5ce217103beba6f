# QA Desktop: every target makes its own virtual environment in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench package demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)           ## install, make the demo data if absent, open the GUI on it
	$(BIN)/qa-desktop demo --if-absent
	$(BIN)/qa-desktop

lint: $(STAMP)          ## ruff (lint and format), the layer contracts, mypy
	$(BIN)/ruff check qa_desktop tests benchmarks
	$(BIN)/ruff format --check qa_desktop tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint              ## install, lint, and run every test offscreen
	$(BIN)/python -m pytest

bench: $(STAMP)         ## ratio benchmarks (printed, never asserted)
	$(BIN)/python -m benchmarks

package: $(STAMP)       ## one-folder app in dist/qa-desktop via PyInstaller
	$(BIN)/python -m pip install -q -e '.[dev,package]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build/work app.spec

demo: $(STAMP)
	$(BIN)/qa-desktop demo

clean:
	rm -rf $(VENV) dist build/work .pytest_cache
