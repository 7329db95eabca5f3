#!/usr/bin/env bash
# The expiry sweep, alternating builds and databases: for each round, each build in BINS (dirs
# holding a release commerce-server) and each database file in DBS (made by `commerce-server seed
# --scale S --pending N [--pending-products K]`), copies the file, launches a server on the copy
# and times it from launch until no unpaid order is left (polled every 20 ms), as data-growth.sh
# does. Prints one line per sweep and the medians.
#
#   BINS="old new" DBS="small.sqlite large.sqlite" ROUNDS=5 benchmarks/ab/expiry-sweep.sh
#   PREFIX="perf record -g -o sweep.perf --" runs the server under a profiler.
set -euo pipefail
ROUNDS="${ROUNDS:-5}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

sweep_once() {  # bin-dir database
  local bin=$1 db=$2
  cp "$db" "$WORK/run.sqlite"; rm -f "$WORK/run.sqlite-wal" "$WORK/run.sqlite-shm"; sync; sleep 1
  export COMMERCE_AUTH_KEYS="$WORK/keys.json"
  rm -f "$WORK/keys.json" "$WORK/port.json"; "$bin/commerce-server" keys add --file "$WORK/keys.json" >/dev/null
  local t0 t1; t0=$(date +%s%N)
  ${PREFIX:-} "$bin/commerce-server" serve --db "$WORK/run.sqlite" --port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
    --admin-token x --log-level warning --events-file "$WORK/events.jsonl" >"$WORK/server.log" 2>&1 &
  local pid=$!
  python3 - "$WORK/run.sqlite" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
while True:
    try:
        left = db.execute("SELECT count(*) FROM orders WHERE status = 'PENDING_PAYMENT' AND expires_at IS NOT NULL").fetchone()[0]
    except sqlite3.OperationalError:
        left = -1
    if left == 0: break
    time.sleep(0.02)
PY
  t1=$(date +%s%N)
  kill -INT "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pid'])" "$WORK/port.json")" 2>/dev/null || true
  kill -INT "$pid" 2>/dev/null || true; wait "$pid" || true
  echo $(((t1 - t0) / 1000000))
}

for round in $(seq "$ROUNDS"); do
  for bin in $BINS; do
    for db in $DBS; do echo "$(basename "$db") $bin $(sweep_once "$bin" "$db") ms"; done
  done
done | tee "$WORK/lines"
python3 - "$WORK/lines" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    db, bin, ms, _ = line.split()
    runs[(db, bin)].append(int(ms))
for (db, bin), ms in sorted(runs.items()):
    print(f"{db} {bin}: median {statistics.median(ms):.0f} ms of {ms}")
PY
