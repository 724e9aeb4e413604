#!/usr/bin/env bash
# The per-kind serving table: every zoo kind (and HistGradientBoosting with categorical
# splits) on bank and on telco, in process (one row, 10,000 rows: the library's predict
# against loopml's fast path) and over HTTP (1 and 8 clients), with the ratios against
# the goals. OMP_NUM_THREADS=1 throughout.
#
#   bash bench/serving/kinds.sh                 # about 4 minutes
#   bash bench/serving/kinds.sh --no-http       # in process only (about 1 minute)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
export OMP_NUM_THREADS=1
CACHE="$ROOT/bench/.cache/kinds"
mkdir -p "$CACHE"
ARGS=(--http)
if [[ "${1:-}" == "--no-http" ]]; then ARGS=(); shift; fi
"$PY" bench/serving/kinds.py "$CACHE" "${ARGS[@]}" "$@"
