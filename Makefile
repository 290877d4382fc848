# The README's two commands: `make book` builds the book, `make test` runs the tests (CI: .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= default
STAMP := $(VENV)/.installed

.PHONY: venv book test smoke-book clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Execute every notebook at $(SCALE) into book/ and build the HTML book (book/_build/html).
book: venv
	$(PY) -m lib.book_runner --scale $(SCALE) --out book

## Unit tests, then the notebooks at smoke scale into build/smoke-book (never touches tracked files).
test: venv
	$(PY) -m pytest -q
	$(PY) -m lib.book_runner --scale smoke --out build/smoke-book

clean:
	rm -rf build book/_build
