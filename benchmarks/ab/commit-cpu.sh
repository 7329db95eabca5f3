#!/usr/bin/env bash
# The commit thread's CPU per order and the order rate, alternating builds: for each round, each
# build in BINS (dirs holding a release commerce-server and commerce-load) serves `commerce-load
# --scenario order` at 64 callers on 4 connections (synchronous=FULL, a fresh database each run),
# and the server's shutdown log gives `commit_cpu_us_per_write`. The order of the builds flips
# every round. Prints one line per run and the medians per build.
#
#   BINS="/tmp/old /tmp/new" ROUNDS=6 SECONDS_PER_RUN=8 benchmarks/ab/commit-cpu.sh
source "$(dirname "$0")/../lib.sh"
read -r -a BINS <<<"${BINS:?BINS: build directories to compare}"
ROUNDS="${ROUNDS:-6}"
BENCH_BIN="${BINS[0]}" bench_setup commit-cpu-ab >/dev/null
: >"$WORK/runs.txt"
for round in $(seq "$ROUNDS"); do
  for bin in $(ab_order "$round" "${BINS[@]}"); do
    BIN="$bin"
    : >"$WORK/server.log"
    start_server "ab-$round" --synchronous full --log-level notice
    load --scenario order --concurrency 64 --connections 4 --users 1000 --duration "${SECONDS_PER_RUN:-8}" --warmup 2 >"$WORK/load.json"
    stop_server
    cpu=$(grep -o 'commit_cpu_us_per_write=[0-9]*' "$WORK/server.log" | tail -1 | cut -d= -f2)
    read -r rate invariants < <(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(round(d['rate_per_s']), d['invariants'])" "$WORK/load.json")
    echo "round $round $bin: $rate orders/s, commit thread $cpu µs/order" | tee -a "$WORK/runs.txt"
    [[ $invariants == hold ]] || { echo "invariants broken with $bin" >&2; exit 1; }
    rm -f "$WORK"/ab-*.sqlite*
  done
done
ab_medians "$WORK/runs.txt"
