#!/usr/bin/env bash
# The scale benchmark: the bank search (50 trials, 1 thread per worker) on the local
# process pool and on a Dask LocalCluster, 1 and 2 workers each.
#
#   bash bench/scale/run.sh                              # the full comparison (~5 minutes on 2 cores)
#   bash bench/scale/run.sh --trials 8 --rows 3000       # a quick look (under a minute)
#   bash bench/scale/run.sh --configs dask-1,dask-2 --repeats 2
#
# Each configuration runs in a fresh process with OMP_NUM_THREADS (and the BLAS thread
# variables) at 1. Run it on an otherwise idle machine: other work on the same cores
# slows the workers unevenly (see README.md).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
export PYTHONUNBUFFERED=1
exec "$PY" bench/scale/run.py "$@"
