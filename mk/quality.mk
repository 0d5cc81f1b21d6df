# Quality gates: CI runs these first (.ci/run) and stops there on failure.
# Included by the main Makefile (-include mk/*.mk).

RUFF := $(VENV)/bin/ruff
MYPY := $(VENV)/bin/mypy

.PHONY: lint lint-py types format gates

lint: lint-py lint-js ## ruff check + ruff format --check (Python) and eslint (JavaScript)

lint-py: venv ## ruff check and ruff format --check over the Python code
	$(RUFF) check .
	$(RUFF) format --check .

types: venv ## mypy on the core package (assistant/)
	$(MYPY)

format: venv ## apply ruff's fixes and formatting (what `make lint` checks)
	$(RUFF) check --fix .
	$(RUFF) format .

gates: lint types validate-content ## the fast gates: lint, types, content validation
