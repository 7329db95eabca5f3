#!/usr/bin/env bash
# GetBalance, alternating builds: for each round, each build in BINS (dirs holding a release
# commerce-server and commerce-load) serves `commerce-load --scenario get-balance` at 64 callers on
# 4 connections (a fresh database each run); reports calls/s and the server's CPU per call (its
# utime + stime from /proc over the measured seconds, warm-up excluded). The order of the builds flips
# every round. Prints one line per run and the medians per build.
#
#   BINS="/tmp/old /tmp/new" ROUNDS=6 SECONDS_PER_RUN=6 benchmarks/ab/lookup-cpu.sh
source "$(dirname "$0")/../lib.sh"
read -r -a BINS <<<"${BINS:?BINS: build directories to compare}"
ROUNDS="${ROUNDS:-6}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-6}"
BENCH_BIN="${BINS[0]}" bench_setup lookup-cpu-ab >/dev/null
: >"$WORK/runs.txt"
ticks_per_s=$(getconf CLK_TCK)
for round in $(seq "$ROUNDS"); do
  for bin in $(ab_order "$round" "${BINS[@]}"); do
    BIN="$bin"
    start_server "ab-$round" --log-level warning
    load --scenario get-balance --concurrency 64 --connections 4 --users 1000 --duration 1 --warmup 1 >/dev/null
    before=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    load --scenario get-balance --concurrency 64 --connections 4 --users 1000 --duration "$SECONDS_PER_RUN" --warmup 0 >"$WORK/load.json"
    after=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    stop_server
    python3 - "$WORK/load.json" "$((after - before))" "$ticks_per_s" "$round" "$bin" <<'PY' | tee -a "$WORK/runs.txt"
import json, sys
d = json.load(open(sys.argv[1])); ticks, hz = int(sys.argv[2]), int(sys.argv[3])
print(f"round {sys.argv[4]} {sys.argv[5]}: {d['rate_per_s']:.0f} calls/s, server {ticks / hz * 1e6 / max(1, d['ok']):.1f} µs CPU/call, {d['failed']} failed")
PY
    rm -f "$WORK"/ab-*.sqlite*
  done
done
ab_medians "$WORK/runs.txt"
