#!/usr/bin/env bash
# The tracking benchmark: metric logging throughput and finding runs by a metric, loopml
# against MLflow, each in a fresh process on its own fresh SQLite file, side by side.
#
#   bash bench/tracking/run.sh                  # 100,000 values per call for loopml,
#                                               # 1,000 for MLflow (it is slow), 1,000 runs
#   bash bench/tracking/run.sh --runs 200       # try it small first
#   bash bench/tracking/run.sh --skip-mlflow    # loopml only
#
# MLflow lives in its own virtualenv, bench/.venv-mlflow, built here on first use (it
# pins its own pandas and SQLAlchemy); loopml runs from the project's .venv.
set -euo pipefail

RUNS=1000
MLFLOW=1
MLFLOW_PER_CALL=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --mlflow-per-call) MLFLOW_PER_CALL="$2"; shift 2 ;;
    --skip-mlflow) MLFLOW=0; shift ;;
    *) echo "usage: $0 [--runs N] [--mlflow-per-call N] [--skip-mlflow]" >&2; exit 2 ;;
  esac
done

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache"
mkdir -p "$CACHE"
if [[ "$MLFLOW" == 1 ]]; then
  MPY="$(side_venv mlflow mlflow)"
fi

LOOPML_JSON="$CACHE/tracking_loopml.json"
MLFLOW_JSON="$CACHE/tracking_mlflow.json"
rm -f "$LOOPML_JSON" "$MLFLOW_JSON"

echo "loopml: 100,000 values per call, 100,000 in batches, search among $RUNS runs..." >&2
"$PY" bench/tracking/bench_loopml.py --runs "$RUNS" --json "$LOOPML_JSON" > /dev/null
if [[ "$MLFLOW" == 1 ]]; then
  echo "MLflow: $MLFLOW_PER_CALL values per call, 20,000 in batches, search among $RUNS runs..." >&2
  "$MPY" bench/tracking/bench_mlflow.py --runs "$RUNS" --per-call "$MLFLOW_PER_CALL" \
    --json "$MLFLOW_JSON" > /dev/null 2> "$CACHE/tracking_mlflow.log"
fi

"$PY" bench/tracking/compare.py "$LOOPML_JSON" "$MLFLOW_JSON"
