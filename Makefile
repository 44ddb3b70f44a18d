# The two commands of the README:
#   make demo   set up a virtual environment, build the demo app's components, serve it on :3000
#   make test   set up a virtual environment, build the test components, run lint, types and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint typecheck pytest clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,build]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spin-py up -f manifests/hello --build

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
