# neurorl — the commands a user needs.  `make demo` and `make test` set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-env grsn-env figures figures-quick lint clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,envs]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m neurorl.cli demo

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check neurorl tests benchmarks scripts

bench: $(STAMP) $(BENCH_VENV)/.installed-stamp
	$(BENCH_VENV)/bin/python benchmarks/bench_surrogate.py
	$(BENCH_VENV)/bin/python benchmarks/bench_dqn.py

figures: $(STAMP)
	$(PY) scripts/make_figures.py

# every figure script on a tiny budget into a scratch folder (minutes; figures/ untouched)
figures-quick: $(STAMP)
	$(PY) scripts/make_figures.py --quick --out runs/figures-quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Peers (PyTorch, SpikingJelly, snnTorch, Stable-Baselines3) live in their own environment and are
# only ever measured against; neurorl itself never imports them.
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed-stamp: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[bench,envs]"
	touch $@

bench-env: $(BENCH_VENV)/.installed-stamp

# The GRSN authors' PyTorch code (old gym, SpikingJelly 0.0.0.0.14), measured by
# benchmarks/bench_tap.py, gets an environment of its own.  torch is the CPU wheel; spikingjelly
# without its deps (it asks for torchvision, never used); gym 0.26 needs numpy < 2.
GRSN_VENV ?= .venv-grsn
grsn-env:
	$(PYTHON) -m venv $(GRSN_VENV)
	$(GRSN_VENV)/bin/pip install -q torch==2.13.0
	$(GRSN_VENV)/bin/pip install -q --no-deps spikingjelly==0.0.0.0.14
	$(GRSN_VENV)/bin/pip install -q gym==0.26.2 ruamel.yaml python-dateutil tensorboardX pycolab \
		tqdm seaborn "numpy<2" "pandas<2.3" "scikit-learn<1.6" "scipy<1.14" "matplotlib<3.10"
