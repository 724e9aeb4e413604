# The two commands: `make demo` and `make test`. Both build .venv from the hashed locks first:
# requirements/runtime.lock (what loopml needs to run) and requirements/dev.lock (the tools).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2

.PHONY: setup browser demo test check lint typecheck imports unit lock clean

setup: $(STAMP)

LOCKS := requirements/runtime.lock requirements/dev.lock
# The suite covers 95 % (measured with PostgreSQL and the browser tests).
COV_FLOOR := 90

$(STAMP): $(LOCKS) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes $(addprefix -r ,$(LOCKS))
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .  
	touch $(STAMP)

# Debian's chromium for the browser tests (installed when missing and we are root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed: browser tests will be skipped"; }

demo: setup
	bash scripts/demo.sh

# Every check, in order; the first that fails stops the rest (and fails .ci/run).
test: setup browser lint typecheck imports unit

check: test

lint: setup
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts

typecheck: setup
	$(VENV)/bin/mypy

imports: setup
	$(VENV)/bin/lint-imports

# The suite runs in TEST_WORKERS pytest-xdist workers (a file's tests stay together), each
# pinned to its share of the cores by tests/conftest.py; TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

unit: setup browser
	$(PY) -m pytest --cov --cov-report=term:skip-covered --cov-fail-under=$(COV_FLOOR) \
	  -n $(TEST_WORKERS) --dist loadfile -q $(PYTEST_ARGS)

# Regenerate both locks from pyproject's ranges, keeping today's pins (a maintainer's job,
# not CI's; UPGRADE=--upgrade moves them). uv runs from a throwaway venv.
lock:
	rm -rf /tmp/loopml-lock && $(PYTHON) -m venv /tmp/loopml-lock
	/tmp/loopml-lock/bin/pip install --quiet uv
	/tmp/loopml-lock/bin/uv pip compile pyproject.toml $(UPGRADE) --generate-hashes \
	  --python-version 3.11 --quiet --custom-compile-command "make lock" -o requirements/runtime.lock
	/tmp/loopml-lock/bin/uv pip compile pyproject.toml --extra dev -c requirements/runtime.lock \
	  $(UPGRADE) --generate-hashes --python-version 3.11 --quiet --custom-compile-command "make lock" \
	  -o requirements/dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage demo-project
