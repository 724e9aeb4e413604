#!/usr/bin/env bash
# The profiling benchmark: loopml's profile report against ydata-profiling's default mode,
# each in a fresh process, on the same synthetic Parquet file.
#
#   bash bench/profile/run.sh                    # 1,000,000 rows, both sides
#   bash bench/profile/run.sh --rows 100000      # try it small first
#   bash bench/profile/run.sh --skip-ydata       # loopml only
#
# ydata-profiling needs pandas<3, so it lives in its own virtualenv, bench/.venv-ydata,
# built here on first use. loopml runs from the project's .venv.
set -euo pipefail

ROWS=1000000
YDATA=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --skip-ydata) YDATA=0; shift ;;
    *) echo "usage: $0 [--rows N] [--skip-ydata]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
YPY="$ROOT/bench/.venv-ydata/bin/python"
CACHE="$ROOT/bench/.cache"
mkdir -p "$CACHE"

if [[ ! -x "$PY" ]]; then
  echo "no .venv: run 'make test' (or 'make demo') first to build it" >&2
  exit 2
fi
if [[ "$YDATA" == 1 && ! -x "$YPY" ]]; then
  echo "building bench/.venv-ydata (ydata-profiling, pandas<3)..." >&2
  python3 -m venv "$ROOT/bench/.venv-ydata"
  "$YPY" -m pip install --quiet 'pandas<3' ydata-profiling pyarrow setuptools
fi

"$PY" bench/profile/make_data.py --rows "$ROWS"

LOOPML_JSON="$CACHE/result_loopml_$ROWS.json"
YDATA_JSON="$CACHE/result_ydata_$ROWS.json"
rm -f "$LOOPML_JSON" "$YDATA_JSON"

echo "loopml: profiling $ROWS rows..." >&2
"$PY" bench/profile/run.py --rows "$ROWS" --json "$LOOPML_JSON" > /dev/null
if [[ "$YDATA" == 1 ]]; then
  echo "ydata-profiling (default mode): profiling $ROWS rows..." >&2
  "$YPY" bench/profile/run_ydata.py --rows "$ROWS" --json "$YDATA_JSON" > /dev/null 2> "$CACHE/ydata_$ROWS.log"
fi

"$PY" bench/profile/compare.py "$LOOPML_JSON" "$YDATA_JSON"
