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

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache/serving"
export OMP_NUM_THREADS=1
mkdir -p "$CACHE"
if [[ "$MLFLOW" == 1 ]]; then  # the same scikit-learn as .venv: both unpickle one model
  SKLEARN="$("$PY" -c 'import sklearn; print(sklearn.__version__)')"
  MPY="$(side_venv mlflow mlflow "scikit-learn==$SKLEARN")"
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
