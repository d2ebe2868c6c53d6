# The two commands: `make run` starts the bot, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install bench

$(BIN)/watchkeeper: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/watchkeeper

# With SLACK_BOT_TOKEN (in the environment or .env) it serves your workspace; without, the sandbox.
run: install
	@if [ -n "$$SLACK_BOT_TOKEN" ] || grep -qs '^SLACK_BOT_TOKEN=.' .env; then \
		$(BIN)/watchkeeper serve; \
	else \
		echo "No SLACK_BOT_TOKEN: starting the sandbox (a local stand-in of Slack)"; \
		$(BIN)/watchkeeper sandbox; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/schedule.py
