#!/usr/bin/env bash
# A health probe during a flood, alternating builds: for each round, each build in BINS (dirs
# holding a release commerce-server and commerce-load) and each flood (PlaceOrder, GetBalance),
# starts a fresh server pinned to core 0 (synchronous=FULL, defaults otherwise), floods it from
# core 1 with 20,000 callers on 100 connections for 10 s while a Health/Check probe calls once at a
# time on a connection of its own, and prints one line: the probe's p99 and max, how many calls it
# made, and the flood's OK calls per second and refusals. The shape of benchmarks/overload.sh's
# floods, without its unflooded runs and RSS sampling, so more rounds fit.
#
#   BINS="/tmp/old /tmp/new" ROUNDS=3 benchmarks/ab/flood-probe.sh
#   SERVER_ARGS="--read-kib-per-turn 128" BINS=/tmp/new benchmarks/ab/flood-probe.sh   # other server options
set -euo pipefail
ROUNDS="${ROUNDS:-3}"
WORK="$(mktemp -d)"
SERVER_PID=""
trap '[[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

flood() {  # bin-dir scenario
  local bin=$1 scenario=$2
  rm -f "$WORK"/db.sqlite* "$WORK/port.json" "$WORK/keys.json"
  "$bin/commerce-server" keys add --file "$WORK/keys.json" >/dev/null
  export COMMERCE_AUTH_KEYS="$WORK/keys.json"
  COMMERCE_TOKEN=$("$bin/commerce-server" token --keys "$WORK/keys.json" --service bench --ttl 1d)
  export COMMERCE_TOKEN
  taskset -c 0 "$bin/commerce-server" serve --db "$WORK/db.sqlite" --port 0 --metrics-port=-1 \
    --port-file "$WORK/port.json" --admin-token bench --log-level warning --events-file "$WORK/events.jsonl" \
    --synchronous full ${SERVER_ARGS:-} >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; sleep 0.05; done
  local port
  port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
  local load=(taskset -c 1 "$bin/commerce-load" --port "$port" --admin-token bench --json --quiet --duration 10 --warmup 1)
  "${load[@]}" --scenario health --connections 1 --concurrency 1 >"$WORK/probe.json" &
  local probe=$!
  "${load[@]}" --scenario "$scenario" --users 1000 --connections 100 --concurrency 20000 >"$WORK/flood.json" || true
  wait "$probe" || true
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  python3 - "$WORK" "$bin" "$scenario" <<'PY'
import json, sys
work, bin, scenario = sys.argv[1:4]
probe = next(iter(json.load(open(f"{work}/probe.json"))["methods"].values()))
flood = json.load(open(f"{work}/flood.json"))
latency = probe["latency_us"]
print(f"{bin:<24} {scenario:<12} probe p99 {latency['p99'] / 1000:7.1f} ms  max {latency['max'] / 1000:6.0f} ms  "
      f"calls {probe['count']:6d}   flood OK/s {flood['rate_per_s']:8.0f}  refused {flood.get('failed', 0):6d}")
PY
}

for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for bin in ${BINS:?BINS=\"dir dir\"}; do
    for scenario in order get-balance; do flood "$bin" "$scenario"; done
  done
done
