# Two commands for a fresh machine with Python >= 3.11 and Node/npm: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= var/demo

.PHONY: install demo test lint serve bench study-grid clean audio

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install when the dependency lists change.
$(VENV)/.installed: pyproject.toml package-lock.json | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/wardpulse --data-dir $(DEMO_DIR) demo

test: install lint
	$(BIN)/pytest

# ruff (pinned in the test extra): pyflakes, pycodestyle, import order, bugbear, pyupgrade; see pyproject.toml.
lint: install
	$(BIN)/ruff check .

serve: install
	$(BIN)/wardpulse serve

# The trend-alert study grid in README ("Trend alerts: keeping the promise"); under an hour on 2 cores (nice: others may share them).
study-grid: install
	nice -n 15 $(BIN)/python -m server.tools.study --jobs 2

clean:
	rm -rf $(VENV) node_modules

# The read-aloud clips, spoken by eSpeak NG from the shipped catalogues (needs: apt-get install espeak-ng opus-tools).
# Committed, so a fresh clone speaks without them; run again after changing a catalogue.
audio: install
	$(BIN)/python -m server.tools.audio
