# The two commands of the README: `make demo` (train EP on digits with the Lava back end and
# draw its plots) and `make test` (the default test suite). Both build the Python 3.10
# environment first; `make test-py312` shows that everything but Lava works on Python 3.12.
VENV ?= .venv
VENV312 ?= .venv312
PYTEST_ARGS ?=

.PHONY: demo test test-py312 test-slow data benchmarks clean

$(VENV)/.installed: setup.cfg pyproject.toml tools/make_venv.sh
	tools/make_venv.sh $(VENV) 3.10
	touch $@

$(VENV312)/.installed: setup.cfg pyproject.toml tools/make_venv.sh
	tools/make_venv.sh $(VENV312) 3.12
	touch $@

data:
	tools/install_data.sh

demo: $(VENV)/.installed
	$(VENV)/bin/dynaxx train ep --data digits --backend lava --baseline backprop

test: $(VENV)/.installed data
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-py312: $(VENV312)/.installed data
	$(VENV312)/bin/python -m pytest $(PYTEST_ARGS)

test-slow: $(VENV)/.installed data
	$(VENV)/bin/python -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(VENV312) build *.egg-info .pytest_cache
