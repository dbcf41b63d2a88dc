# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf examples/out
	$(BIN)/evidencekit run --config examples/harbourline/evidencekit.yaml --out examples/out; \
	  code=$$?; echo "evidencekit exited with $$code (1 = findings, as the sample is meant to show)"; \
	  test $$code -le 1
	@echo "Reports written to examples/out: results.json report.xlsx report.pdf"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) examples/out .evidencekit
