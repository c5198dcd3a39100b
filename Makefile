PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
N_PERSONS ?= 100000
SEED ?= 20170401
UI_PORT ?= 5000
ARGS ?=

.PHONY: run ui test test-lowest lint format bench bench-learners clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The simulator's check (every MIA target at 100k persons), then the default experiment, tracked
# in MLflow (MLFLOW_TRACKING_URI when set, else the SQLite store in mlruns/).
run: $(VENV)/.installed
	$(BIN)/adapt generate --n-persons $(N_PERSONS) --seed $(SEED) --out data/default --overwrite
	$(BIN)/adapt calibrate --strict data/default
	$(BIN)/adapt-experiment $(ARGS)
	@echo "Open the runs with: make ui  (then http://127.0.0.1:$(UI_PORT))"

# The MLflow UI on the embedded store.
ui: $(VENV)/.installed
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlruns/mlflow.db} \
		--host 127.0.0.1 --port $(UI_PORT)

# The demo page's browser test drives Debian's chromium through Playwright (never
# `playwright install`: its own browser download cannot work here); installed once, as root.
$(VENV)/.browser: | $(BIN)/activate
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)
	touch $@

test: $(VENV)/.installed $(VENV)/.browser
	$(BIN)/pytest -q

# The whole suite with every direct dependency at the lowest version pyproject.toml allows (uv's
# lowest-direct resolution) in a venv of its own: the floors are versions that were tested.
LOWEST := .venv-lowest
$(LOWEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet uv
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev]'
	touch $@

test-lowest: $(LOWEST)/.installed $(VENV)/.browser
	$(LOWEST)/bin/pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check adapt tests benchmarks experiments hydra_plugins
	$(BIN)/ruff format --check adapt tests benchmarks experiments hydra_plugins
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff check --fix adapt tests benchmarks experiments hydra_plugins
	$(BIN)/ruff format adapt tests benchmarks experiments hydra_plugins

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_generate.py

bench-learners: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_learners.py

clean:
	rm -rf $(VENV) $(LOWEST) data outputs multirun .pytest_cache .ruff_cache
