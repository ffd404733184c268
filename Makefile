# neurorl — the commands a user needs.  `make demo` and `make test` set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench figures lint clean

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

bench: $(STAMP)
	$(PY) benchmarks/bench_surrogate.py

figures: $(STAMP)
	$(PY) scripts/make_figures.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
