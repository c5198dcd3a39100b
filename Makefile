PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
N_PERSONS ?= 100000
SEED ?= 20170401

.PHONY: run test lint format bench bench-learners clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/adapt generate --n-persons $(N_PERSONS) --seed $(SEED) --out data/default --overwrite
	$(BIN)/adapt calibrate data/default

test: $(VENV)/.installed
	$(BIN)/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check adapt tests benchmarks experiments
	$(BIN)/ruff format --check adapt tests benchmarks experiments

format: $(VENV)/.installed
	$(BIN)/ruff check --fix adapt tests benchmarks experiments
	$(BIN)/ruff format adapt tests benchmarks experiments

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_generate.py

bench-learners: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_learners.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
