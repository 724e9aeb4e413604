#!/usr/bin/env bash
# The search benchmark: (b) loopml's search against a bare Optuna + scikit-learn script
# doing the same trials, and the full 50-trial searches on the bank and bike data.
#
#   bash bench/search/run.sh                      # overhead (1x2 and 2x1), then full
#   bash bench/search/run.sh overhead --trials 8 --rows 3000 --configs 1x1   # quick look
#   bash bench/search/run.sh overhead --configs 1x2,2x1 --repeats 2
#   bash bench/search/run.sh full                 # the "under 5 minutes" check
#
# Each side of the overhead comparison runs in a fresh process started with
# OMP_NUM_THREADS (and the BLAS thread variables) pinned to the configuration's threads.
# Run it on an otherwise idle machine: other work on the same cores slows the
# OpenMP-threaded fits unevenly (see README.md).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
export PYTHONUNBUFFERED=1

if [[ $# -gt 0 ]]; then
  exec "$PY" bench/search/run.py "$@"
fi
"$PY" bench/search/run.py overhead --configs 1x2,2x1
echo
"$PY" bench/search/run.py full
