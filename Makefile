# neurorl — the commands a user needs.  `make demo` and `make test` set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-env grsn-env genn-env figures figures-quick lint clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,envs,sweep,marl]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m neurorl.cli demo

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check neurorl tests benchmarks scripts

bench: $(STAMP) $(BENCH_VENV)/.installed-stamp
	$(BENCH_VENV)/bin/python benchmarks/bench_surrogate.py
	$(BENCH_VENV)/bin/python benchmarks/bench_scaling.py --fresh --out runs/bench
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

# GeNN through Brian2GeNN (issue 17): brian2genn 1.7.0 pins brian2 < 2.6, so numpy < 2, in an
# environment of its own, with neurorl editable and GeNN 4.x at $(GENN_VENV)/genn: unpacked from
# GENN_SRC (a GeNN 4.x tarball or source folder; default the vendored 4.9.0 where it exists) or a
# link to an existing GENN_PATH (`git clone -b 4.9.0 https://github.com/genn-team/genn`).  GeNN's
# code generator library and its CPU-only backend are compiled here once (about 3 minutes on
# 2 cores), so no test or run pays for it.  A failed step removes the half-built environment.
# Cython < 3.1: brian2 2.5.x imports Cython.Utils.get_cython_cache_dir, which 3.1 removed.
GENN_VENV  ?= .venv-genn
GENN_SRC   ?= $(wildcard ../shared/vendor/genn-4.9.0.tar.gz)
GENN_PATH  ?=
GENN_STAMP := $(GENN_VENV)/.installed-stamp
GENN_PINS  := "brian2>=2.5.4,<2.6" "numpy<2" "brian2genn==1.7.0" "cython<3.1"

$(GENN_STAMP): SHELL := /bin/bash
$(GENN_STAMP): setup.cfg pyproject.toml
	@rm -rf $(GENN_VENV)
	@set -e; trap 'rm -rf $(GENN_VENV); echo "make genn-env failed: $(GENN_VENV) removed" >&2' ERR; \
	if [ -n "$(GENN_PATH)" ]; then \
	  test -x "$(GENN_PATH)/bin/genn-buildmodel.sh" || { echo "GENN_PATH=$(GENN_PATH) is not a GeNN 4.x source folder (no bin/genn-buildmodel.sh); get one with: git clone -b 4.9.0 https://github.com/genn-team/genn" >&2; false; }; \
	elif [ -z "$(GENN_SRC)" ]; then \
	  echo "no GeNN source: give GENN_PATH=<GeNN 4.x folder> or GENN_SRC=<GeNN 4.x tarball or folder>; get GeNN with: git clone -b 4.9.0 https://github.com/genn-team/genn" >&2; false; \
	fi; \
	$(PYTHON) -m venv $(GENN_VENV); \
	$(GENN_VENV)/bin/python -m pip install -q --upgrade pip; \
	$(GENN_VENV)/bin/python -m pip install -q -e ".[dev,envs]" $(GENN_PINS); \
	if [ -n "$(GENN_PATH)" ]; then ln -s "$(abspath $(GENN_PATH))" $(GENN_VENV)/genn; \
	elif [ -d "$(GENN_SRC)" ]; then cp -r "$(GENN_SRC)" $(GENN_VENV)/genn; \
	else mkdir $(GENN_VENV)/genn && tar xzf "$(GENN_SRC)" -C $(GENN_VENV)/genn --strip-components=1; fi; \
	test -x $(GENN_VENV)/genn/bin/genn-buildmodel.sh; \
	$(MAKE) -s -C $(GENN_VENV)/genn -j $$(nproc) libgenn single_threaded_cpu >/dev/null; \
	$(GENN_VENV)/bin/python -c "import brian2, brian2genn, numpy, neurorl; print('genn-env: brian2', brian2.__version__, 'brian2genn', brian2genn.__version__, 'numpy', numpy.__version__)"; \
	touch $@

genn-env: $(GENN_STAMP)
