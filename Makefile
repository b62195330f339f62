# One task runner for people and CI. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch is pinned to the CPU build that the text extra's embedding model runs on; installing it first keeps
# pip from pulling a multi-GB CUDA build through sentence-transformers.
TORCH  ?= torch==2.13.0

.PHONY: demo test setup setup-dev lint bench clean

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(VENV)/.core  ## create .venv with cxlens (core install: DuckDB store, CLI, web app)

setup-dev: $(VENV)/.dev  ## add the test tools and the optional extras the tests cover

demo: setup  ## load the bundled demo data into cxlens-demo.duckdb and start the dashboard
	$(BIN)/cxlens --db cxlens-demo.duckdb demo --reset

lint: setup-dev
	$(BIN)/ruff check src tests bench

test: setup-dev lint  ## lint, then the full test suite (fails if no test ran)
	$(BIN)/python -m pytest

bench: setup-dev  ## benchmarks (10M rows; see bench/)
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_scores.py

clean:
	rm -rf $(VENV) cxlens-demo.duckdb bench/out
