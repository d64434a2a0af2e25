# Two commands do everything on a fresh machine:  `make book`  and  `make test`.
# Both create .venv and install the project into it first (once; again when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Repeatable and sized for 2 cores: one BLAS thread per process; pytest runs 2 workers, with --dist loadfile so
# a notebook's cells, which depend on each other, stay in one worker. The tests pick a
# headless matplotlib backend themselves (tests/conftest.py); notebooks use %matplotlib inline.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: install book test test-fast exercises clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), f"Python >= 3.10 needed, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	@touch $(STAMP)

## book: build the HTML book in _build/html with every notebook executed (fails if any cell errors)
book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going
	@test -f _build/html/index.html && echo "Book built: _build/html/index.html"

## test: the whole suite — unit, gradient and parity tests, grader tests, then every notebook under nbval
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax tests book solutions

## exercises: regenerate exercises/ from solutions/ (never edit exercises/ by hand)
exercises: $(STAMP)
	$(BIN)/nnlearn exercises build

clean:
	rm -rf _build .pytest_cache .hypothesis
