# Sourced by bench/*/run.sh: the repository root as the working directory, .venv's
# python as PY (refusing to go on without it), and side_venv for the other tool a
# benchmark compares with, in a virtualenv of its own.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
if [[ ! -x "$PY" ]]; then
  echo "no .venv: run 'make test' (or 'make demo') first to build it" >&2
  exit 2
fi

# side_venv NAME PACKAGE...: prints the python of bench/.venv-NAME, built with PACKAGE...
# installed the first time.
side_venv() {
  local name="$1"
  shift
  local dir="$ROOT/bench/.venv-$name"
  if [[ ! -x "$dir/bin/python" ]]; then
    echo "building bench/.venv-$name ($*)..." >&2
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip >&2
    "$dir/bin/python" -m pip install --quiet "$@" >&2
  fi
  echo "$dir/bin/python"
}
