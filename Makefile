# The two commands of the README:
#   make demo   set up a virtual environment, build the demo app's components, serve it on :3000
#   make test   set up a virtual environment, build the test components, run lint, types and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint typecheck pytest clean

setup: $(STAMP)

# pip's own lines show what is being fetched and installed; each step says how long it took.
$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing spin-py with its dev and build tools (pip)"
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/pip install --quiet --upgrade pip && \
	$(BIN)/pip install --progress-bar off --disable-pip-version-check -e '.[dev,build]' && \
	echo "==> $(VENV) ready in $$(( $$(date +%s) - start ))s"
	@touch $(STAMP)

# Options for spin-py up: `make demo ARGS="--log-level debug"`, or the environment:
# `SPIN_HTTP_LISTEN_ADDR=0.0.0.0:8080 make demo`.
demo: $(STAMP)
	$(BIN)/spin-py up -f manifests/hello --build $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check spin_py tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
