# Two entry points: `make demo` (the main job) and `make test` (the suite).
# Each creates ./.venv on its own. On machines that ship the torch 2.13.0 CPU
# wheel locally this pin picks it (no multi-GB CUDA download); elsewhere the
# pin falls back to whatever `pip install torch` gives.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): setup.cfg pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -c "import torch" 2>/dev/null || $(VPY) -m pip install -q "torch==2.13.0" || $(VPY) -m pip install -q torch
	$(VPY) -m pip install -q -e ".[test,healpix]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/foscat-like demo --out out

test: $(STAMP)
	$(VPY) -m pytest -q

bench: $(STAMP)
	$(VPY) benchmarks/classic.py

.PHONY: install demo test bench
