# The README's two commands: `make book` builds the book, `make test` runs the tests (CI: .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= default
COLLECT ?= 0
# where lib/experiments/store.py reads each scale's dynamics
DYNAMICS := $(if $(filter default paper_size,$(SCALE)),data/dynamics,build/dynamics)/$(SCALE)
STAMP := $(VENV)/.installed

.PHONY: venv book collect test clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Execute every notebook at $(SCALE) into book/ and build the HTML book (book/_build/html).
## Reads the committed dynamics of the scale; COLLECT=1 collects missing ones first (resumable, hours on a CPU).
BOOK_OUT := $(if $(filter default,$(SCALE)),book,build/$(SCALE)-book)
book: venv
	GPTFLUENCE_COLLECT=$(COLLECT) $(PY) -m lib.book_runner --scale $(SCALE) --out $(BOOK_OUT)
	$(PY) -m lib.html_check $(BOOK_OUT)/_build/html

## Collect (or finish collecting) every collection of $(SCALE) into $(DYNAMICS) (resumable).
collect: venv
	for config in configs/$(SCALE)/*.toml; do \
	  $(PY) -m lib.collect $$config --out $(DYNAMICS)/$$(basename $$config .toml) || exit 1; done

## Unit tests, the notebooks at smoke scale into build/smoke-book, then the HTML check of that book and of the
## committed default book (rendered from book/ into build/default-book; never touches tracked files).
test: venv
	$(PY) -m pytest -q
	$(PY) -m lib.book_runner --scale smoke --out build/smoke-book
	$(PY) -m lib.html_check build/smoke-book/_build/html
	$(VENV)/bin/jupyter-book build book --path-output build/default-book -W -n --keep-going -q
	$(PY) -m lib.html_check build/default-book/_build/html

clean:
	rm -rf build book/_build
