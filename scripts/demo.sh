#!/usr/bin/env bash
# `make demo`: the whole lifecycle on the bundled bank marketing data.
#   init -> run -> run again (everything reused) -> serve -> traffic -> monitor -> summary
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$root/.venv/bin/python"
loopml="$root/.venv/bin/loopml"
demo="$root/demo-project"
port="${LOOPML_DEMO_PORT:-8765}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$demo" && mkdir -p "$demo"
cd "$demo"
step "data: history for training, the latest calls as later traffic"
"$py" "$root/scripts/demo_data.py" data

step "loopml init data/bank_marketing.csv --target 'subscribed ' --exclude duration"
# duration is known only after the call: a textbook leakage feature, so it is excluded
"$loopml" init data/bank_marketing.csv --target "subscribed " --exclude duration --name bank

step "loopml profile (the EDA report of the data, quirks named)"
"$loopml" profile

step "loopml run"
"$loopml" run

step "loopml run (again: nothing changed, every step is reused)"
start=$(date +%s%N)
"$loopml" run | tail -n 4
echo "second run took $(( ($(date +%s%N) - start) / 1000000 )) ms"

step "loopml serve (in the background on 127.0.0.1:$port)"
"$loopml" serve --port "$port" > serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/health"; echo

step "traffic: the latest calls, one request each"
"$py" "$root/scripts/demo_traffic.py" "http://127.0.0.1:$port" data/later_calls.csv

step "stop the server (SIGTERM: logged predictions are flushed)"
kill -TERM "$server"; wait "$server" || true
trap - EXIT

step "loopml monitor"
set +e
"$loopml" monitor
code=$?
set -e
[ "$code" -le 1 ] || exit "$code"

step "summary"
"$loopml" models
"$loopml" summary
printf '\nOpen the reports above in a browser. The project is in %s\n' "$demo"
