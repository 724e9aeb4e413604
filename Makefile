# The two commands: `make demo` and `make test`. Both build .venv from requirements.lock first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2

.PHONY: setup browser demo test check lint lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .  
	touch $(STAMP)

# Debian's chromium for the browser tests (installed when missing and we are root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed: browser tests will be skipped"; }

demo: setup
	bash scripts/demo.sh

test: setup browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest --cov --cov-report=term:skip-covered -q

check: setup lint test

lint: setup
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/mypy

# Regenerate the lock from pyproject's ranges (run by a maintainer, not by CI).
lock:
	rm -rf /tmp/loopml-lock && $(PYTHON) -m venv /tmp/loopml-lock
	/tmp/loopml-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/loopml-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage demo-project
