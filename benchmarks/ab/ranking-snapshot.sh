#!/usr/bin/env bash
# How long the daily ranking snapshot holds the writer, alternating builds: for each round and each
# build in BINS (dirs holding a release commerce-server), drops the database's snapshots, launches a
# server on it (its first sweep takes today's snapshot), waits until the snapshot's row is there,
# and reads the server's commit-time histogram (`commerce_store_commit_seconds`, every write
# transaction's wall time) from /metrics: the writes held up behind the snapshot wait at most as
# long as its transaction. Prints one line per launch: ms from launch to the snapshot, the write
# transactions so far and their summed wall time, those over 0.1 s, and the slowest bucket reached.
#
#   BINS="old new" DB=scale.sqlite ROUNDS=3 benchmarks/ab/ranking-snapshot.sh
# DB is made by `commerce-server seed --scale S` (90 days of rollups for every product).
set -euo pipefail
ROUNDS="${ROUNDS:-3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export COMMERCE_AUTH_KEYS="$WORK/keys.json"

snapshot_once() {  # bin-dir
  local bin=$1
  python3 - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("DELETE FROM ranking_snapshots"); db.execute("DELETE FROM ranking_snapshot_days"); db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
  rm -f "$WORK/keys.json" "$WORK/port.json"; "$bin/commerce-server" keys add --file "$WORK/keys.json" >/dev/null
  local t0 t1; t0=$(date +%s%N)
  "$bin/commerce-server" serve --db "$DB" --port 0 --metrics-port 0 --port-file "$WORK/port.json" \
    --admin-token x --log-level warning --events-file "$WORK/events.jsonl" >"$WORK/server.log" 2>&1 &
  local pid=$!
  python3 - "$DB" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
while True:
    try:
        if db.execute("SELECT count(*) FROM ranking_snapshot_days").fetchone()[0] > 0: break
    except sqlite3.OperationalError:
        pass
    time.sleep(0.01)
PY
  t1=$(date +%s%N)
  for _ in $(seq 100); do [[ -s "$WORK/port.json" ]] && break; sleep 0.05; done
  local metrics; metrics=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics'])" "$WORK/port.json")
  sleep 0.5
  curl -s "http://127.0.0.1:$metrics/metrics" >"$WORK/metrics.txt"
  kill -INT "$pid" 2>/dev/null || true; wait "$pid" || true
  python3 - "$WORK/metrics.txt" "$(((t1 - t0) / 1000000))" <<'PY'
import re, sys
buckets = {}
for line in open(sys.argv[1]):
    m = re.match(r'commerce_store_commit_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
    if m: buckets[float(m.group(1))] = int(m.group(2))
count = max(buckets.values())
over = count - max(n for le, n in buckets.items() if le <= 0.1)
slowest = min(le for le, n in buckets.items() if n == count)
total = next(float(l.split()[-1]) for l in open(sys.argv[1]) if l.startswith("commerce_store_commit_seconds_sum"))
print(f"{sys.argv[2]} ms to the snapshot; {count} write transactions, {total * 1000:.0f} ms in all, "
      f"{over} over 0.1 s, the slowest <= {slowest} s")
PY
}

for round in $(seq "$ROUNDS"); do
  for bin in $BINS; do echo "$bin: $(snapshot_once "$bin")"; done
done
