#!/usr/bin/env bash
# The drift benchmark: Evidently's data drift preset against `loopml.drift` on the same
# reference and current frames (20 numeric + 5 categorical columns, drift injected into
# 7 of them), at 100,000 and 1,000,000 rows, each tool in a fresh process.
#
#   bash bench/drift/run.sh                     # 100,000 and 1,000,000 rows
#   bash bench/drift/run.sh --rows 100000       # one size (repeat --rows for more)
#   bash bench/drift/run.sh --skip-evidently    # loopml only
#
# Evidently lives in its own virtualenv, bench/.venv-evidently, built here on first use
# (it needs pandas < 3); loopml runs from the project's .venv.
set -euo pipefail

SIZES=()
EVIDENTLY=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) SIZES+=("$2"); shift 2 ;;
    --skip-evidently) EVIDENTLY=0; shift ;;
    *) echo "usage: $0 [--rows N]... [--skip-evidently]" >&2; exit 2 ;;
  esac
done
[[ ${#SIZES[@]} -eq 0 ]] && SIZES=(100000 1000000)

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache"
mkdir -p "$CACHE"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
if [[ "$EVIDENTLY" == 1 ]]; then
  EPY="$(side_venv evidently "evidently==0.7.23" "pandas<3")"
fi

RESULTS=()
for ROWS in "${SIZES[@]}"; do
  DATA="$CACHE/drift-$ROWS"
  if [[ ! -f "$DATA/truth.json" ]]; then
    echo "writing $ROWS rows x 25 columns..." >&2
    "$PY" bench/drift/make_data.py --rows "$ROWS" --out "$DATA"
  fi
  echo "loopml, $ROWS rows..." >&2
  "$PY" bench/drift/measure.py loopml "$DATA" --json "$CACHE/drift-loopml-$ROWS.json" > /dev/null
  RESULTS+=("$CACHE/drift-loopml-$ROWS.json")
  if [[ "$EVIDENTLY" == 1 ]]; then
    echo "Evidently, $ROWS rows..." >&2
    "$EPY" bench/drift/measure.py evidently "$DATA" --json "$CACHE/drift-evidently-$ROWS.json" \
      > /dev/null 2> "$CACHE/drift-evidently-$ROWS.log"
    RESULTS+=("$CACHE/drift-evidently-$ROWS.json")
  fi
done

"$PY" bench/drift/compare.py "${RESULTS[@]}"
