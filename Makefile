# One task runner for people and CI. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test setup lint bench clean

$(BIN)/cxlens: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(BIN)/cxlens  ## create .venv with cxlens and the test tools

demo: setup  ## load the bundled demo data into cxlens-demo.duckdb and show it
	$(BIN)/cxlens --db cxlens-demo.duckdb demo --reset --no-serve

lint: setup
	$(BIN)/ruff check src tests bench

test: setup lint  ## lint, then the full test suite (fails if no test ran)
	$(BIN)/python -m pytest

bench: setup  ## import benchmark (10M events; see bench/)
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) cxlens-demo.duckdb bench/out
