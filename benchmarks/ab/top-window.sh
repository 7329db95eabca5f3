#!/usr/bin/env bash
# TopProducts over a window other than the kept three days, uncached, alternating builds: each
# store (SQLite, PostgreSQL) is seeded once at SCALE (`seed --scale`: 90 days of rollups), then for
# each round each build in BINS (dirs holding a release commerce-server and commerce-load) serves it
# with `--ranking-cache-ms 0` while the last build's load generator asks TopProducts of the last
# DAYS days at 8 callers. The order of the builds flips every round. Prints one line per run and
# the medians per store and build.
#
#   BINS="/tmp/old /tmp/new" SCALE=0.1 DAYS=30 ROUNDS=3 benchmarks/ab/top-window.sh
source "$(dirname "$0")/../lib.sh"
read -r -a BINS <<<"${BINS:?BINS: build directories to compare}"
SCALE="${SCALE:-0.1}"
DAYS="${DAYS:-30}"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-6}"
STORES="${STORES:-sqlite postgres}"
LAST="${BINS[${#BINS[@]} - 1]}"
BENCH_BIN="$LAST" bench_setup top-window-ab postgresql >/dev/null
start_postgres "${PG_PORT:-56435}"
for store in $STORES; do
  if [[ $store == postgres ]]; then
    psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE top_window"
    db="${PG_URL%/*}/top_window"
  else
    db="$WORK/top-window.sqlite"
  fi
  echo "$store: seed --scale $SCALE" >&2
  "$LAST/commerce-server" seed --scale "$SCALE" --pending 0 --db "$db" >"$WORK/$store.seed.txt"
  if [[ $store == postgres ]]; then psql -q "$db" -c "VACUUM (ANALYZE)" -c "CHECKPOINT"; fi
  sync
  : >"$WORK/$store.runs.txt"
  for round in $(seq "$ROUNDS"); do
    for bin in $(ab_order "$round" "${BINS[@]}"); do
      rm -f "$WORK/port.json"
      "$bin/commerce-server" serve --db "$db" --port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
        --admin-token bench --log-level warning --ranking-cache-ms 0 --events-file "$WORK/events.jsonl" \
        >>"$WORK/server.log" 2>&1 &
      SERVER_PID=$!
      until [[ -s "$WORK/port.json" ]]; do kill -0 "$SERVER_PID"; sleep 0.01; done
      PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
      "$LAST/commerce-load" --port "$PORT" --admin-token bench --json --quiet --scenario top-products \
        --ranking-days "$DAYS" --concurrency 8 --connections 2 --duration "$SECONDS_PER_RUN" --warmup 1 \
        >"$WORK/load.json"
      stop_server
      python3 - "$WORK/load.json" "$round" "$bin" <<'PY' | tee -a "$WORK/$store.runs.txt"
import json, sys
d = json.load(open(sys.argv[1])); m = d["methods"]["TopProducts"]
print(f"round {sys.argv[2]} {sys.argv[3]}: {m['rate_per_s']:.0f} calls/s, p50 {m['latency_us']['p50']:.0f} µs, p99 {m['latency_us']['p99']:.0f} µs, {d['failed']} failed")
PY
    done
  done
  echo "$store, $(grep -o '[0-9,]* orders' "$WORK/$store.seed.txt" | head -1), TopProducts of $DAYS days uncached, medians:"
  ab_medians "$WORK/$store.runs.txt"
done
