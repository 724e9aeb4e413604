#!/usr/bin/env bash
# The ui benchmark: the team server's runs page against MLflow's (3.17.2), 1,000 and
# 10,000 runs of 20 params and 50 metrics each, both served on loopback, side by side:
# the API calls each web UI makes and the first paint in chromium.
#
#   bash bench/ui/run.sh                 # 1,000 and 10,000 runs (building MLflow's
#                                        # 10,000 takes about 9 minutes, once)
#   bash bench/ui/run.sh --sizes 1000    # try it small first
#   bash bench/ui/run.sh --skip-mlflow   # loopml only
#   bash bench/ui/run.sh --skip-browser  # the API only
#
# The stores are built once into bench/.cache/ui/ (delete it to rebuild). MLflow lives
# in its own virtualenv, bench/.venv-mlflow-ui, built here on first use.
set -euo pipefail

SIZES=(1000 10000)
MLFLOW=1
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) IFS=' ' read -r -a SIZES <<< "$2"; shift 2 ;;
    --skip-mlflow) MLFLOW=0; shift ;;
    --skip-browser) EXTRA+=(--skip-browser); shift ;;
    *) echo "usage: $0 [--sizes 'N M'] [--skip-mlflow] [--skip-browser]" >&2; exit 2 ;;
  esac
done

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache/ui"
mkdir -p "$CACHE"
export OMP_NUM_THREADS=1
if [[ "$MLFLOW" == 1 ]]; then
  MPY="$(side_venv mlflow-ui mlflow==3.17.2)"
  EXTRA+=(--mlflow-python "$MPY")
fi

for size in "${SIZES[@]}"; do
  if [[ ! -f "$CACHE/loopml-$size.db" ]]; then
    echo "building loopml's store of $size runs..." >&2
    "$PY" bench/ui/build_loopml.py --url "sqlite:///$CACHE/loopml-$size.db.part" --runs "$size"
    mv "$CACHE/loopml-$size.db.part" "$CACHE/loopml-$size.db"
  fi
  if [[ "$MLFLOW" == 1 && ! -f "$CACHE/mlflow-$size.db" ]]; then
    echo "building MLflow's store of $size runs..." >&2
    "$MPY" bench/ui/build_mlflow.py --url "sqlite:///$CACHE/mlflow-$size.db.part" --runs "$size"
    mv "$CACHE/mlflow-$size.db.part" "$CACHE/mlflow-$size.db"
  fi
done

"$PY" bench/ui/measure.py --cache "$CACHE" --sizes "${SIZES[@]}" "${EXTRA[@]}" \
  --json "$CACHE/results.json"
