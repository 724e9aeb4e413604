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

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
CACHE="$ROOT/bench/.cache"
mkdir -p "$CACHE"
if [[ "$YDATA" == 1 ]]; then
  YPY="$(side_venv ydata 'pandas<3' ydata-profiling pyarrow setuptools)"
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
