#!/usr/bin/env bash
# How cost grows with rows: `loopml predict` (a LightGBM trained on 20,000 rows) and
# `loopml drift` (against those 20,000 rows) on Parquet files of 1M, 5M and 20M rows x 25
# float32 columns, each command in a fresh process; seconds, rows/s and peak RSS.
#
#   bash bench/rows/run.sh                          # 1,000,000 5,000,000 20,000,000 rows
#   bash bench/rows/run.sh --rows 1000000           # one size (repeat --rows for more)
#   bash bench/rows/run.sh --workers 2              # drift counts row groups in 2 processes
#
# The data (about 100 MB per million rows) is written once under bench/.cache/rows/;
# the scored output is deleted after each size.
set -euo pipefail

SIZES=()
WORKERS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) SIZES+=("$2"); shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    *) echo "usage: $0 [--rows N]... [--workers N]" >&2; exit 2 ;;
  esac
done
[[ ${#SIZES[@]} -eq 0 ]] && SIZES=(1000000 5000000 20000000)

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache/rows"
PROJECT="$CACHE/project"
LOOPML="$ROOT/.venv/bin/loopml"
mkdir -p "$CACHE"
df -h "$CACHE" | tail -1 >&2

if [[ ! -f "$PROJECT/.loopml/loopml.db" ]]; then
  echo "training the model on 20,000 rows..." >&2
  "$PY" bench/rows/run.py project --dir "$PROJECT"
fi

RESULTS=()
for ROWS in 1000 "${SIZES[@]}"; do  # 1,000 rows: the start-up alone
  DATA="$CACHE/rows-$ROWS.parquet"
  if [[ ! -f "$DATA" ]]; then
    echo "writing $ROWS rows x 25 columns..." >&2
    "$PY" bench/rows/run.py make --rows "$ROWS" --out "$DATA"
  fi
  echo "loopml predict, $ROWS rows..." >&2
  "$PY" bench/rows/run.py time --json "$CACHE/predict-$ROWS.json" --step predict --rows "$ROWS" \
    -- "$LOOPML" predict "$DATA" "$CACHE/scored-$ROWS.parquet" -C "$PROJECT"
  rm -f "$CACHE/scored-$ROWS.parquet"
  RESULTS+=("$CACHE/predict-$ROWS.json")
  echo "loopml drift, $ROWS rows..." >&2
  "$PY" bench/rows/run.py time --json "$CACHE/drift-$ROWS.json" --step drift --rows "$ROWS" \
    -- "$LOOPML" drift "$PROJECT/reference.parquet" "$DATA" --json --workers "$WORKERS"
  RESULTS+=("$CACHE/drift-$ROWS.json")
done

"$PY" bench/rows/run.py table "${RESULTS[@]}"
