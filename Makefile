# The two commands of the README: `make run` and `make test` (`make lint` is its checks
# without the tests; `make manifests` redraws the platforms' command menus from the registry).
# Both create .venv on first use with nothing but Python 3.11+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint manifests clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/circles serve

demo: $(STAMP)
	$(BIN)/circles demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot adapters scheduler storage tests

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

manifests: $(STAMP)
	$(BIN)/python -m adapters.slack.manifest
	$(BIN)/python -m adapters.teams.menus

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
