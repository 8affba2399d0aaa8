# Two commands do all set-up on a fresh machine:
#   make demo   - create .venv, install, generate the synthetic data, run the main job
#   make test   - create .venv, install, run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.medmod-installed
# torch first, pinned: on the course machines these wheels come from local disk.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
PROFILE ?= cpu
# make demo RUN=name -> reports/name/ (default: demo-$(PROFILE)); RESUME=1 keeps finished notebooks
RUN ?=
RESUME ?=

export MPLBACKEND ?= Agg
export PYTHONHASHSEED ?= 0
export OMP_NUM_THREADS ?= 2

.PHONY: install demo test lint data clean-data help notebooks browser

help:
	@echo "make demo  - set up and run every notebook on the synthetic data (profile $(PROFILE))"
	@echo "make test  - set up and run the test suite"
	@echo "make lint  - ruff check"
	@echo "make notebooks - regenerate notebooks/*.ipynb from the .py sources (jupytext pairs)"
	@echo "make browser   - install headless chromium (root + apt) for the JupyterLab test"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (medmod)" > /dev/null
	@touch $(STAMP)

install: $(STAMP)

data: $(STAMP)
	$(PY) -m medmod_lib.synthetic --reuse

demo: $(STAMP)
	$(PY) -m medmod_lib.run --profile $(PROFILE) $(if $(RUN),--run $(RUN)) $(if $(RESUME),--resume)

test: $(STAMP)
	@$(MAKE) --no-print-directory browser || echo "chromium unavailable: the JupyterLab browser test will skip"
	TQDM_DISABLE=1 $(PY) -m pytest

# Notebooks are jupytext pairs: edit notebooks/NN_name.py (or the .ipynb in
# JupyterLab, which keeps the pair in sync), then run this; the tests check it.
notebooks: $(STAMP)
	$(PY) -m medmod_lib.runner.hygiene sync notebooks

# Headless chromium for tests/notebooks/test_jupyterlab.py (best-effort: needs root and apt).
browser:
	@if command -v chromium > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null; \
	else echo "chromium missing and no root/apt: install it yourself (apt-get install chromium)"; exit 1; fi

lint: $(STAMP)
	$(PY) -m ruff check medmod_lib tests benchmarks
