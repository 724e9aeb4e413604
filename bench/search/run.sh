#!/usr/bin/env bash
# The search benchmark: (b) loopml's search against a bare Optuna + scikit-learn script
# doing the same trials, the full 50-trial searches on the bank and bike data, and the
# search's quality at equal wall time against FLAML on bank, bike and telco.
#
#   bash bench/search/run.sh                      # overhead (1x2 and 2x1), full, flaml
#   bash bench/search/run.sh overhead --trials 8 --rows 3000 --configs 1x1   # quick look
#   bash bench/search/run.sh overhead --configs 1x2,2x1 --repeats 2
#   bash bench/search/run.sh full                 # the "under 5 minutes" check
#   bash bench/search/run.sh flaml                # quality at equal time vs FLAML (60 s a side)
#   bash bench/search/run.sh flaml --budget 10 --data telco   # quick look
#
# Each side of the overhead comparison runs in a fresh process started with
# OMP_NUM_THREADS (and the BLAS thread variables) pinned to the configuration's threads.
# FLAML runs in its own virtualenv, bench/.venv-flaml, built here on first use.
# Run it on an otherwise idle machine: other work on the same cores slows the
# OpenMP-threaded fits unevenly (see README.md).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
export PYTHONUNBUFFERED=1

# FLAML 2.7 wants xgboost<3; the rest pinned to loopml's versions.
flaml_python() {
  side_venv flaml 'flaml[automl]==2.7.0' 'xgboost==2.1.4' 'lightgbm==4.7.0' \
    'scikit-learn==1.9.1' 'pandas==3.1.1' 'numpy==2.4.6' 'scipy==1.17.1' 'pyarrow==26.0.1'
}

if [[ "${1:-}" == flaml ]]; then
  shift
  FPY="$(flaml_python)"
  exec "$PY" bench/search/flaml_compare.py --flaml-python "$FPY" "$@"
fi
if [[ $# -gt 0 ]]; then
  exec "$PY" bench/search/run.py "$@"
fi
"$PY" bench/search/run.py overhead --configs 1x2,2x1
echo
"$PY" bench/search/run.py full
echo
FPY="$(flaml_python)"
"$PY" bench/search/flaml_compare.py --flaml-python "$FPY"
