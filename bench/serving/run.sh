#!/usr/bin/env bash
# The serving benchmark: the same trained model (ordinal encoder + HistGradientBoosting on
# the bank data) served by loopml and by `mlflow models serve`, plus a bare Starlette
# endpoint calling the same compiled model, on loopback, driven by one load generator
# (raw asyncio HTTP/1.1 keep-alive clients in their own process).
#
#   bash bench/serving/run.sh                   # everything (MLflow venv built on first use)
#   bash bench/serving/run.sh --requests 1000   # shorter runs
#   bash bench/serving/run.sh --skip-mlflow     # loopml and the bare endpoint only
#
# OMP_NUM_THREADS is pinned to 1 for every server (the machine has 2 cores: one for the
# server, one for the load generator).
set -euo pipefail

ARGS=()
MLFLOW=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests|--cold-starts) ARGS+=("$1" "$2"); shift 2 ;;
    --skip-mlflow) MLFLOW=0; ARGS+=("$1"); shift ;;
    *) echo "usage: $0 [--requests N] [--cold-starts N] [--skip-mlflow]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
MPY="$ROOT/bench/.venv-mlflow/bin/python"
CACHE="$ROOT/bench/.cache/serving"
export OMP_NUM_THREADS=1
mkdir -p "$CACHE"

if [[ ! -x "$PY" ]]; then
  echo "no .venv: run 'make test' (or 'make demo') first to build it" >&2
  exit 2
fi
if [[ "$MLFLOW" == 1 && ! -x "$MPY" ]]; then
  echo "building bench/.venv-mlflow (mlflow, the same scikit-learn as .venv)..." >&2
  SKLEARN="$("$PY" -c 'import sklearn; print(sklearn.__version__)')"
  python3 -m venv "$ROOT/bench/.venv-mlflow"
  "$MPY" -m pip install --quiet --upgrade pip
  "$MPY" -m pip install --quiet mlflow "scikit-learn==$SKLEARN"
fi

echo "training the model and writing the loopml package..." >&2
"$PY" bench/serving/prepare.py "$CACHE"
if [[ "$MLFLOW" == 1 ]]; then
  "$MPY" bench/serving/mlflow_save.py "$CACHE/pipeline.pkl" "$CACHE/sample.parquet" \
    "$CACHE/mlflow_model" 2> "$CACHE/mlflow_save.log"
fi
"$PY" bench/serving/bench.py "$CACHE" "${ARGS[@]}"
echo
"$PY" bench/serving/trees.py "$CACHE"
