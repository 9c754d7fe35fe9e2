# rushes: `make demo` and `make test` work on a fresh machine (Python >= 3.11, no GPU needed).
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench lint clean chromium

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 is needed (apt-get install python3)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: python venv failed (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of PyTorch first: a bare 'torch' requirement would pull GBs of CUDA packages
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m pip install -q -e '.[dev,bench,sign]'
	# PySceneDetect is the benchmark's peer; it asks for GUI OpenCV, we keep the headless one
	$(PY) -m pip install -q --no-deps 'scenedetect==0.7.2' && $(PY) -m pip install -q platformdirs tqdm click
	@touch $(STAMP)

demo: setup
	$(PY) scripts/demo.py

test: setup lint chromium
	$(PY) -m pytest -q

# the review page's browser tests drive Debian's chromium (Playwright downloads no browser)
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the review page's browser tests"; \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	    && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || echo "warning: chromium could not be installed; the browser tests skip (fail under CI)"; \
	  else echo "note: no chromium and no apt-get; the browser tests skip (fail under CI)"; fi; }

bench: setup
	$(PY) benchmarks/run.py

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy src

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
