# Every target sets up what it needs: a fresh clone needs nothing but Python 3.11 and make.
PYTHON      ?= python3.11
VENV        ?= .venv
BIN         := $(VENV)/bin
UV_VERSION  := 0.13.8
STAMP       := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)
# The stages call `python`, `dvc` and `mlflow`: the venv's must come first.
export PATH := $(abspath $(BIN)):$(PATH)
HOST        ?= 127.0.0.1
UI_PORT     ?= 5000
PORT        ?= 3000

.PHONY: help setup run test test-unit lint typecheck test-tools ui compare serve predict bento example retrain drift replay wrk bench lock clean \
	lr-find tune

help:
	@echo "make run    set up .venv and run the pipeline (dvc repro)"
	@echo "make test   set up .venv and run the test suite, with coverage and its floors"
	@echo "make test-unit  the fast tier: unit tests of core, io, ml, serving (under a minute)"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make typecheck  mypy over pipeline/ and serving/ ([tool.mypy] in pyproject.toml)"
	@echo "make ui     MLflow UI over the embedded store on http://$(HOST):$(UI_PORT)"
	@echo "make compare  the last runs side by side (N=5; CHAMPION=1: the champion first)"
	@echo "make serve  BentoML service for the champion on http://$(HOST):$(PORT)"
	@echo "make bento  package the champion with the service as a Bento (bentoml build)"
	@echo "make example DATASET=wine   a bundled example (wine, digits, diabetes, breast_cancer)"
	@echo "make predict INPUT=x.csv  score a CSV/parquet file with the champion (VERSION=n for another)"
	@echo "make lr-find  short fits over a ladder of learning rates: a recommended rate and why (lr_find in params.yaml)"
	@echo "make tune   an Optuna search over tune.space; the best configuration into params.yaml"
	@echo "make retrain  the whole pipeline, unattended: lock, resume, report (PULL=1: dvc pull first)"
	@echo "make drift INPUT=logs/requests  drift of a table or the request log against the training split"
	@echo "make replay [VERSION=n]  the logged requests scored by a candidate version vs what was served"
	@echo "make bench  every benchmark, written up in bench/RESULTS.md (ONLY=scale: just that one)"
	@echo "make lock   re-pin requirements.lock from pyproject.toml"

# The venv is rebuilt only when requirements.lock changes (the stamp carries its checksum).
$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	# Bytecode compiled once here: imports stay fast even under PYTHONDONTWRITEBYTECODE.
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

run: setup
	dvc repro

# The UI test drives Debian's chromium, the team-scale test Debian's postgresql: installed here
# when missing and we are root (as in CI); elsewhere those two tests say what to install.
TEST_TOOLS := chromium postgresql
test-tools:
	@if ! command -v chromium >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q $(TEST_TOOLS) >/dev/null || \
			(apt-get update -q >/dev/null && apt-get install -y -q $(TEST_TOOLS) >/dev/null); \
		else echo "note: install $(TEST_TOOLS) to run the UI and PostgreSQL tests"; fi; \
	fi

# Lines and branches of pipeline/ and serving/, in every Python process the suite starts
# ([tool.coverage] in pyproject.toml); the floors are printed last and a miss fails the run.
# Two workers (TEST_WORKERS=0: one process): most tests wait on servers and subprocesses, so two
# share the 2 cores well; tests/conftest.py groups them so shared projects are built once.
TEST_WORKERS ?= 2
test: setup test-tools
	rm -f .coverage .coverage.* coverage.json
	coverage run -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder) --durations=15
	coverage combine --quiet
	coverage report --fail-under=0
	coverage json --quiet --fail-under=0 -o coverage.json
	python -m tests.coverage_floors coverage.json

# The fast tier (under a minute): the pure core, io against a SQLite store, Keras pieces, and
# the service's parts without a server; no integration marker, no pipeline run, and not the
# model-learning tests of tests/ml/test_model.py (they train: `make test` runs them).
UNIT_TESTS := tests/core tests/io tests/ml/test_inputs.py tests/ml/test_scoring.py tests/ml/test_callbacks.py tests/ml/test_steering.py \
	tests/ml/test_strategy.py \
	tests/ml/test_pyfunc_model.py tests/serving/test_batching.py tests/serving/test_limits.py \
	tests/serving/test_handover.py
test-unit: setup
	python -m pytest -q -m "not integration" $(UNIT_TESTS)

lint: setup
	ruff check .
	ruff format --check .

typecheck: setup
	mypy

ui: setup
	mlflow ui --backend-store-uri sqlite:///mlflow.db --host $(HOST) --port $(UI_PORT)

N ?= 5
compare: setup
	python -m pipeline.compare --last $(N) $(if $(CHAMPION),--champion)

serve: setup
	python -m serving --host $(HOST) --port $(PORT)

bento: setup
	python -m serving.bento

# A bundled example as a DVC experiment in a temporary copy: the workspace and its params stay
# as they are; the run, its model version and champion land in the repository's MLflow store
# (DVC names the repository in DVC_ROOT; pipeline/io/tracking.py follows it).
DATASET ?= wine
EXAMPLE_MODEL = $(subst _,-,$(DATASET))-model
example: setup
	dvc exp run --temp \
		-S fetch.dataset=$(DATASET) -S data.path=data/raw/$(DATASET).csv \
		-S register.model_name=$(EXAMPLE_MODEL)
	@echo "serve it with: make serve MODEL_NAME=$(EXAMPLE_MODEL)"

predict: setup
	python -m pipeline.predict $(INPUT) $(if $(OUTPUT),-o $(OUTPUT)) $(if $(VERSION),--version $(VERSION))

retrain: setup
	python -m pipeline.retrain $(if $(PULL),--pull)

drift: setup
	python -m pipeline.drift $(INPUT)

replay: setup
	python -m pipeline.replay $(if $(VERSION),--version $(VERSION))
# Both read only the prepared training and validation splits: prepare runs first (if needed).
lr-find: setup
	dvc repro prepare
	python -m pipeline.lr_find

tune: setup
	dvc repro prepare
	python -m pipeline.tune $(if $(FRESH),--fresh)

# The serving benchmark drives the servers with wrk: Debian's package, installed when missing.
wrk:
	command -v wrk >/dev/null || (apt-get install -y wrk || (apt-get update && apt-get install -y wrk))

# Every benchmark, one after another, into bench/RESULTS.md (ONLY="pipeline scale": some, printed).
bench: setup wrk
	python -m bench $(if $(ONLY),--only $(ONLY))

lock: setup
	uv pip compile --python-version 3.11 --no-emit-index-url --no-header --extra test \
		pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV)
