#!/usr/bin/env bash
# `make demo`: the whole lifecycle on the bundled data sets, in three acts.
#   1. bank: init -> profile -> run (evaluation report, gate) -> run again (reused)
#      -> explain -> serve -> traffic with feedback -> monitor -> summary
#   2. bike: a model of 2011 serves 2012 -> drift and performance alerts -> retrain
#      -> challenger in shadow -> proven better -> promoted and deployed, no restart
#   3. churn: a raw export (yes/no, "$70.97", dates as text, an ordered scale, blanks)
#      -> the server takes the export's own records -> batch scoring of the same file
#   4. the team server over the bank project: users with roles, the REST API, the web UI
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="$root/.venv/bin/python"
loopml="$root/.venv/bin/loopml"
demo="$root/demo-project"
port="${LOOPML_DEMO_PORT:-8765}"
ui_port="${LOOPML_DEMO_UI_PORT:-5000}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

start_server() {  # start_server PROJECT_DIR: serve it in the background, wait until healthy
  "$loopml" serve --port "$port" -C "$1" > "$1/serve.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/ready"; echo
}

stop_server() {  # SIGTERM: the server flushes its prediction log before it exits
  kill -TERM "$server"; wait "$server" || true
  trap - EXIT
}

monitor() {  # loopml monitor, where exit 1 means "an alert": expected here
  set +e
  "$loopml" monitor -C "$1"
  local code=$?
  set -e
  [ "$code" -le 1 ] || exit "$code"
}

rm -rf "$demo" && mkdir -p "$demo/bank" "$demo/bike" "$demo/churn"

printf '\n\033[1;34m#### Act 1: bank marketing, from a CSV file to a monitored service\033[0m\n'
cd "$demo/bank"
step "data: history for training, the latest calls as later traffic"
"$py" "$root/scripts/demo_data.py" bank data

step "loopml init data/bank_marketing.csv --target 'subscribed ' --exclude duration"
# duration is known only after the call: a textbook leakage feature, so it is excluded
"$loopml" init data/bank_marketing.csv --target "subscribed " --exclude duration --name bank

step "loopml profile (the EDA report of the data, quirks named)"
"$loopml" profile

step "loopml run (search, evaluation with intervals, threshold, gate, registry)"
"$loopml" run

step "loopml run (again: nothing changed, every step is reused)"
start=$(date +%s%N)
"$loopml" run | tail -n 4
echo "second run took $(( ($(date +%s%N) - start) / 1000000 )) ms"

step "loopml explain bank@1 (why the model scores one call the way it does)"
"$loopml" explain bank@1 0 --data data/later_calls.csv | head -n 20

step "loopml serve (in the background on 127.0.0.1:$port)"
start_server .

step "traffic: the latest calls, then their outcomes as feedback"
"$py" "$root/scripts/replay.py" "http://127.0.0.1:$port" data/later_calls.csv \
  --target subscribed --project . --batch 1
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^loopml_requests_total' | head -n 3 || true

step "stop the server (SIGTERM: logged predictions are flushed)"
stop_server

step "loopml monitor (drift, data quality, live metric from feedback, operations)"
monitor .

printf '\n\033[1;34m#### Act 2: bike rentals, closing the loop\033[0m\n'
cd "$demo/bike"
step "data: 2011 to train on; 2012 arrives later as traffic"
"$py" "$root/scripts/demo_data.py" bike data
"$loopml" init data/bike_2011.csv --target cnt --exclude casual --exclude registered \
  --exclude x --name bike
"$py" "$root/scripts/demo_data.py" bike-spec loopml.yaml

step "loopml run (a model of 2011)"
"$loopml" run | tail -n 6

step "serve it, and replay January to March 2012 with feedback"
start_server .
"$py" "$root/scripts/replay.py" "http://127.0.0.1:$port" data/traffic_2012_winter.csv \
  --target cnt --project .
sleep 1  # the log is flushed every 0.2 s

step "loopml monitor: 2012 is not 2011 -> alerts -> retrain -> the challenger shadows"
monitor .

step "more 2012 traffic: the champion answers, the challenger scores it in shadow"
"$py" "$root/scripts/replay.py" "http://127.0.0.1:$port" data/traffic_2012_spring.csv \
  --target cnt --project .
sleep 1

step "loopml monitor: the challenger is judged on the shadowed requests"
monitor .
sleep 1
curl -sf "http://127.0.0.1:$port/ready"; echo
stop_server

printf '\n\033[1;34m#### Act 3: telco churn, a raw export as it comes\033[0m\n'
cd "$demo/churn"
step "data: an export with yes/no, numbers as text, dates as text, an ordered scale, blanks"
"$py" "$root/scripts/demo_data.py" churn data
head -n 3 data/telco_churn.csv
"$loopml" init data/telco_churn.csv --target churned --exclude "Customer ID" --name churn
"$py" "$root/scripts/demo_data.py" churn-spec loopml.yaml

step "loopml run"
"$loopml" run | tail -n 6

step "serve it: POST /predict takes the export's own records (its names, its text)"
start_server .
record=$("$py" -c 'import pandas as pd, sys; print(pd.read_csv(sys.argv[1]).head(1).to_json(orient="records")[1:-1])' data/new_customers.csv)
echo "$record"
curl -s "http://127.0.0.1:$port/predict" -H 'content-type: application/json' -d "{\"row\": $record}"; echo
step "a value the cleaning cannot read is a 422 that names row, field and value"
bad=$(echo "$record" | sed 's/"Paperless Billing":"[a-z]*"/"Paperless Billing":"perhaps"/')
curl -s "http://127.0.0.1:$port/predict" -H 'content-type: application/json' -d "{\"row\": $bad}"; echo
stop_server

step "loopml predict: the same file, scored in batch, gives the same answers"
"$loopml" predict churn@champion data/new_customers.csv data/scored.csv
head -n 3 data/scored.csv

printf '\n\033[1;34m#### Act 4: the team server (users, roles, REST API, web UI)\033[0m\n'
cd "$demo/bank"
step "loopml users add: a random password for each (no default, ever), kept in .ui-users"
umask 077
: > .ui-users
for role in admin approver viewer; do
  pw=$("$py" -c 'import secrets; print(secrets.token_urlsafe(12))')
  echo "$pw" | "$loopml" users add "$role" --role "$role" --password-stdin
  echo "$role $pw" >> .ui-users
done
umask 022
token=$("$loopml" users token viewer | tail -n 1 | awk '{print $NF}')

step "loopml ui (in the background on 127.0.0.1:$ui_port)"
"$loopml" ui --port "$ui_port" > ui.log 2>&1 &
ui=$!
trap 'kill $ui 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$ui_port/api/v1/openapi.json" && break
  sleep 0.2
done
step "the API with a viewer's token: the three best runs by ROC AUC, sorted by the store"
curl -s -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$ui_port/api/v1/projects/bank/runs?where=roc_auc%20%3E%200&sort=-roc_auc&metric=roc_auc&limit=3" \
  | "$py" -c 'import json, sys; [print(r["run_id"][:8], r["name"], r["metrics"]) for r in json.load(sys.stdin)["runs"]]'
step "the web UI's page is served from the package (it reads only that API)"
curl -s "http://127.0.0.1:$ui_port/" | grep -o '<title>[^<]*</title>'
step "a viewer may not approve: 403"
curl -s -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"note": "looks fine"}' "http://127.0.0.1:$ui_port/api/v1/projects/bank/models/bank/versions/1/approve"; echo
kill "$ui"; wait "$ui" 2>/dev/null || true
trap - EXIT
cd "$demo/churn"

step "summary"
"$loopml" deployments
"$loopml" models
"$loopml" events | tail -n 12 || true
"$loopml" summary
cd "$demo/bank" && "$loopml" summary
cd "$demo/churn" && "$loopml" summary
printf '\nOpen the reports above in a browser. The projects are in %s\n' "$demo"
printf 'The web UI: loopml ui -C %s/bank, then http://127.0.0.1:%s/ (users and passwords: %s/bank/.ui-users)\n' \
  "$demo" "$ui_port" "$demo"
