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

export MPLBACKEND ?= Agg
export PYTHONHASHSEED ?= 0
export OMP_NUM_THREADS ?= 2

.PHONY: install demo test lint data clean-data help

help:
	@echo "make demo  - set up and run every notebook on the synthetic data (profile $(PROFILE))"
	@echo "make test  - set up and run the test suite"
	@echo "make lint  - ruff check"

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
	$(PY) -m medmod_lib.run --profile $(PROFILE)

test: $(STAMP)
	TQDM_DISABLE=1 $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check medmod_lib tests benchmarks
