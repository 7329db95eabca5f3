#!/usr/bin/env bash
# Any load-generator scenario against PostgreSQL, alternating builds: for each round, each build in
# BINS (dirs holding a release commerce-server and commerce-load) gets a fresh database on one
# PostgreSQL started here (migrated by that build) and serves `commerce-load LOAD_ARGS` (the last
# build's load generator). The order of the builds flips every round. Prints one line per run (the
# scenario's calls/s, p50 and p99 of its first method) and the medians per build.
#
#   BINS="/tmp/old /tmp/new" ROUNDS=4 LOAD_ARGS="--scenario order --concurrency 64 --connections 4 \
#     --users 1000 --products 100" benchmarks/ab/pg-load.sh
source "$(dirname "$0")/../lib.sh"
read -r -a BINS <<<"${BINS:?BINS: build directories to compare}"
read -r -a LOAD_ARGS <<<"${LOAD_ARGS:?LOAD_ARGS: commerce-load options}"
ROUNDS="${ROUNDS:-4}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"
LAST="${BINS[${#BINS[@]} - 1]}"
BENCH_BIN="$LAST" bench_setup pg-load-ab postgresql >/dev/null
start_postgres "${PG_PORT:-56436}"
: >"$WORK/runs.txt"
run=0
for round in $(seq "$ROUNDS"); do
  for bin in $(ab_order "$round" "${BINS[@]}"); do
    run=$((run + 1))
    psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE ab_$run"
    rm -f "$WORK/port.json"
    "$bin/commerce-server" serve --db "${PG_URL%/*}/ab_$run" --port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
      --admin-token bench --log-level warning --events-file "$WORK/events.jsonl" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    until [[ -s "$WORK/port.json" ]]; do kill -0 "$SERVER_PID"; sleep 0.01; done
    PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
    "$LAST/commerce-load" --port "$PORT" --admin-token bench --json --quiet "${LOAD_ARGS[@]}" \
      --duration "$SECONDS_PER_RUN" --warmup 1 --no-server-audit >"$WORK/load.json"
    stop_server
    psql -q "$PG_URL" -c "DROP DATABASE ab_$run"
    python3 - "$WORK/load.json" "$round" "$bin" <<'PY' | tee -a "$WORK/runs.txt"
import json, sys
d = json.load(open(sys.argv[1])); name, m = next(iter(d["methods"].items()))
print(f"round {sys.argv[2]} {sys.argv[3]}: {m['rate_per_s']:.0f} calls/s, p50 {m['latency_us']['p50']:.0f} µs, p99 {m['latency_us']['p99']:.0f} µs, {d['failed']} failed")
PY
  done
done
echo "${LOAD_ARGS[*]}, medians:"
ab_medians "$WORK/runs.txt"
