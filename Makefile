# The README's two commands: `make book` builds the book, `make test` runs the tests (CI: .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= default
COLLECT ?= 0
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

## Collect (or finish collecting) every collection of $(SCALE) (resumable): the configs and dynamics folders of
## the data regime the scale reads (lib/scales.py; lib/experiments/store.py builds the paths).
collect: venv
	folder=$$($(PY) -c "from lib.scales import get_scale; print(get_scale('$(SCALE)').folder)") && \
	out=$$($(PY) -c "from lib.experiments.store import dynamics_folder; print(dynamics_folder('$(SCALE)', ''))") && \
	for config in configs/$$folder/*.toml; do \
	  $(PY) -m lib.collect $$config --out $$out/$$(basename $$config .toml) || exit 1; done

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
