# The two commands: `make run` starts the bot, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install bench bench-smoke messages

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
	$(BIN)/lint-imports --no-logo

test: lint
	$(BIN)/pytest -q

# After changing the bot's words: the catalogs gain the new ids (translate them, then the
# catalog test passes) and lose the ones gone. The build compiles them; nothing to commit but .po.
POT := bot/locales/watchkeeper.pot
LOCALES := fr pt_BR
messages: install
	$(BIN)/pybabel extract --no-location --sort-output --add-comments=Translators: \
		--project=watchkeeper -o $(POT) bot handlers
	@for l in $(LOCALES); do test -f bot/locales/$$l/LC_MESSAGES/watchkeeper.po || \
		$(BIN)/pybabel init -l $$l -i $(POT) -d bot/locales -D watchkeeper; done
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width=100 \
		-i $(POT) -d bot/locales -D watchkeeper

# Figures of this machine (several minutes); bench/README.md says what each prints.
BENCHES := relay floor intake outbox oncall api storm drain wake flood
# The replicas' run makes a database of its own on this server (skipped when it cannot be reached).
BENCH_POSTGRES ?= postgresql://127.0.0.1:5432/postgres

bench: install
	$(BIN)/python bench/schedule.py
	@for b in $(BENCHES); do echo; $(BIN)/python bench/$$b.py || exit 1; done
	@echo; $(BIN)/python bench/relay.py --postgres $(BENCH_POSTGRES) --replicas 2

# A few seconds each: the benchmarks still run and their runs are sound (CI).
bench-smoke: install
	$(BIN)/python bench/schedule.py --quick
	@for b in $(BENCHES); do echo; $(BIN)/python bench/$$b.py --smoke || exit 1; done
	@echo; $(BIN)/python bench/relay.py --smoke --postgres $(BENCH_POSTGRES) --replicas 2
