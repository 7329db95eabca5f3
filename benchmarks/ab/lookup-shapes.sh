#!/usr/bin/env bash
# GetBalance in several shapes, alternating builds: one server per build and round, pinned to core 0
# with the load generator on core 1 (as overload.sh runs them, so the server's CPU per call is its
# own), each shape CONNECTIONSxCALLERS run in turn against it. Reports, per shape, calls/s and the
# server's CPU per call (utime + stime from /proc over the measured seconds, warm-up excluded).
# The default shapes are overload.sh's unflooded GetBalance run (8 connections, 64 callers), its
# flood (100 connections, 20,000 callers) and issue 22's multiplexed shape (4 connections, 64
# callers). The order of the builds flips every round.
#
#   BINS="/tmp/old /tmp/new" ROUNDS=4 SHAPES="8x64 100x20000 4x64" benchmarks/ab/lookup-shapes.sh
source "$(dirname "$0")/../lib.sh"
read -r -a BINS <<<"${BINS:?BINS: build directories to compare}"
read -r -a SHAPES <<<"${SHAPES:-8x64 100x20000 4x64}"
ROUNDS="${ROUNDS:-4}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-6}"
BENCH_BIN="${BINS[0]}" bench_setup lookup-shapes-ab >/dev/null
ticks_per_s=$(getconf CLK_TCK)
for shape in "${SHAPES[@]}"; do : >"$WORK/runs-$shape.txt"; done
for round in $(seq "$ROUNDS"); do
  for bin in $(ab_order "$round" "${BINS[@]}"); do
    BIN="$bin"
    start_server "ab-$round" --log-level warning
    taskset -a -pc 0 "$SERVER_PID" >/dev/null
    for shape in "${SHAPES[@]}"; do
      shape_load() {
        taskset -c 1 "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet --scenario get-balance \
          --users 1000 --connections "${shape%x*}" --concurrency "${shape#*x}" "$@"
      }
      shape_load --duration 1 --warmup 1 >/dev/null
      before=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
      shape_load --duration "$SECONDS_PER_RUN" --warmup 0 >"$WORK/load.json"
      after=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
      python3 - "$WORK/load.json" "$((after - before))" "$ticks_per_s" "$round" "$bin" "$shape" <<'PY' | tee -a "$WORK/runs-$shape.txt"
import json, sys
d = json.load(open(sys.argv[1])); ticks, hz = int(sys.argv[2]), int(sys.argv[3])
print(f"round {sys.argv[4]} {sys.argv[6]} {sys.argv[5]}: {d['rate_per_s']:.0f} calls/s, server {ticks / hz * 1e6 / max(1, d['ok']):.1f} µs CPU/call, {d['failed']} failed")
PY
    done
    stop_server
    rm -f "$WORK"/ab-*.sqlite*
  done
done
for shape in "${SHAPES[@]}"; do echo "shape $shape (connections x callers)"; ab_medians "$WORK/runs-$shape.txt"; done
