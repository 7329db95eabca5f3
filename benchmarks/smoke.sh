#!/usr/bin/env bash
# A tiny run of every commerce-load scenario against a fresh debug server: proves the load
# generator and its scenarios work end to end (part of the test command; not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build --show-bin-path)"
WORK="$(mktemp -d)"
# Tokens as deployed: a key set the servers verify with (COMMERCE_AUTH_KEYS), a service token for
# the load generator (COMMERCE_TOKEN), and user tokens minted from the key set (--user-tokens).
"$BIN/commerce-server" keys add --file "$WORK/auth-keys.json" >/dev/null
export COMMERCE_AUTH_KEYS="$WORK/auth-keys.json"
COMMERCE_TOKEN=$("$BIN/commerce-server" token --keys "$WORK/auth-keys.json" --service smoke --ttl 1h)
export COMMERCE_TOKEN
"$BIN/commerce-server" serve --db "$WORK/smoke.sqlite" --seed-demo --port 0 --metrics-port=-1 \
  --port-file "$WORK/port.json" --admin-token smoke --log-level warning --synchronous normal &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; kill -0 $SERVER_PID || exit 1; sleep 0.05; done
PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
# scenario:allowed failure reasons (comma-separated)
for spec in get-balance: health: read: top-products: charge-storm: order: hot-product:OUT_OF_STOCK \
    get-product: list-orders: list-history: cancel-order: \
    flash-sale:COUPON_SOLD_OUT,COUPON_ALREADY_ISSUED mixed:OUT_OF_STOCK,INSUFFICIENT_BALANCE,EMPTY_CART,BALANCE_LIMIT_EXCEEDED; do
  scenario="${spec%%:*}" allowed="${spec#*:}"
  echo "--- commerce-load smoke: $scenario"
  "$BIN/commerce-load" --scenario "$scenario" --port "$PORT" --concurrency 8 --connections 2 --requests 300 \
    --warmup 0 --users 40 --stock 30 --coupons 20 --admin-token smoke --json --quiet --plot "$WORK/$scenario.svg" >"$WORK/$scenario.json"
  python3 - "$WORK/$scenario.json" "$allowed" <<'PY'
import json, sys
report, allowed = json.load(open(sys.argv[1])), set(filter(None, sys.argv[2].split(",")))
errors = {k: v for m in report["methods"].values() for k, v in m["errors"].items() if k.split("/")[-1] not in allowed}
assert report["total"] >= 300, f"only {report['total']} calls measured"
assert not errors, f"unexpected errors: {errors}"
assert report["invariants"] in ("hold", "not checked"), report["invariants_broken"]
print(f"{report['scenario']}: {report['total']} calls, invariants {report['invariants']}")
PY
  # The plot is well-formed SVG with its three panels and one distribution line per method.
  python3 - "$WORK/$scenario.svg" "$WORK/$scenario.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
svg, report = ET.parse(sys.argv[1]).getroot(), json.load(open(sys.argv[2]))
ns = "{http://www.w3.org/2000/svg}"
texts = [t.text or "" for t in svg.iter(ns + "text")]
for title in ("Latency over time (all methods)", "Calls per second (errors in red)", "Latency distribution by method"):
    assert title in texts, f"plot lacks {title!r}"
lines = list(svg.iter(ns + "polyline"))
assert len(lines) == 5 + len(report["methods"]), f"{len(lines)} lines for {len(report['methods'])} methods"
PY
done
# Each call with its own user's token (minted from the key set) instead of the service token.
for scenario in get-balance order; do
  echo "--- commerce-load smoke: $scenario with user tokens"
  "$BIN/commerce-load" --scenario "$scenario" --port "$PORT" --concurrency 8 --connections 2 --requests 300 --warmup 0 --users 40 \
    --user-tokens "$COMMERCE_AUTH_KEYS" --admin-token smoke --json --quiet >"$WORK/$scenario-user-tokens.json"
  python3 -c "
import json, sys
report = json.load(open(sys.argv[1]))
errors = {k: v for m in report['methods'].values() for k, v in m['errors'].items()}
assert not errors and report['total'] >= 300, f'{report[\"total\"]} calls, errors {errors}'
print(f'{report[\"scenario\"]} with user tokens: {report[\"total\"]} calls, no errors')" "$WORK/$scenario-user-tokens.json"
done
"$BIN/commerce-server" audit --db "$WORK/smoke.sqlite"
# The benchmark's sales history, at tiny size: every line in the window, the seed leaves no WAL
# behind (the file alone is the database), and the audit holds.
"$BIN/commerce-server" seed --db "$WORK/history.sqlite" --history-lines 2000 --history-days 3
python3 - "$WORK/history.sqlite" <<'PY'
import os, sqlite3, sys, time
wal = sys.argv[1] + "-wal"
assert not os.path.exists(wal) or os.path.getsize(wal) == 0, f"seed left a {os.path.getsize(wal)}-byte WAL"
db = sqlite3.connect(sys.argv[1])
lines = db.execute("SELECT COUNT(*) FROM order_lines").fetchone()[0]
days = db.execute("SELECT COUNT(DISTINCT day) FROM product_daily_sales").fetchone()[0]
sold = db.execute("SELECT SUM(quantity) FROM order_lines").fetchone()[0]
rolled = db.execute("SELECT SUM(quantity) FROM product_daily_sales").fetchone()[0]
assert lines == 2000 and days == 3 and sold == rolled, (lines, days, sold, rolled)
print(f"history: {lines} lines over {days} days")
PY
"$BIN/commerce-server" audit --db "$WORK/history.sqlite"
# The commit-floor baseline still runs on the schema the migrations make, and its statements are
# still the server's own (whitespace aside).
cc -O2 -Wall -Werror -o "$WORK/order_commit_floor" benchmarks/baselines/order_commit_floor.c -lsqlite3
"$BIN/commerce-server" migrate --db "$WORK/schema.sqlite" >/dev/null
python3 benchmarks/baselines/dump_schema.py "$WORK/schema.sqlite" >"$WORK/schema.sql"
python3 - benchmarks/baselines/order_commit_floor.c Sources/CommerceSQLite <<'PY'
import glob, re, sys
normal = lambda text: " ".join(text.split())
swift = normal(" ".join(open(path).read() for path in glob.glob(sys.argv[2] + "/*.swift")))
c = open(sys.argv[1]).read()
statements = [normal("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', call))) for call in re.findall(r'prepare\(((?:\s*"(?:[^"\\]|\\.)*")+)\)', c)]
assert len(statements) == 12, statements
missing = [s for s in statements if s not in ("BEGIN IMMEDIATE", "COMMIT") and s not in swift]
assert not missing, f"order_commit_floor.c runs statements the server no longer runs: {missing}"
PY
"$WORK/order_commit_floor" "$WORK/schema.sql" "$WORK/floor.sqlite" 480 24
# The relay benchmark's receiver, and batched delivery end to end: a second server POSTs its events
# to it, 50 a request; once the orders are in, every committed event arrives.
python3 benchmarks/baselines/event_receiver.py "$WORK/receiver.port" "$WORK/receiver.json" &
RECEIVER_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/receiver.port" ]] && break; sleep 0.05; done
"$BIN/commerce-server" serve --db "$WORK/relay.sqlite" --port 0 --metrics-port=-1 --port-file "$WORK/relay-port.json" \
  --admin-token smoke --log-level warning --synchronous normal \
  --data-platform-url "http://127.0.0.1:$(cat "$WORK/receiver.port")/events" --events-per-post 50 &
RELAY_SERVER_PID=$!
trap 'kill $SERVER_PID $RELAY_SERVER_PID $RECEIVER_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do [[ -s "$WORK/relay-port.json" ]] && break; kill -0 $RELAY_SERVER_PID || exit 1; sleep 0.05; done
"$BIN/commerce-load" --scenario order --port "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/relay-port.json")" \
  --concurrency 8 --connections 2 --requests 300 --warmup 0 --users 40 --admin-token smoke --json --quiet >"$WORK/relay-load.json"
python3 - "$WORK/relay.sqlite" "$WORK/receiver.json" "$RECEIVER_PID" <<'PY'
import json, os, signal, sqlite3, sys, time
committed = sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
assert committed >= 300, committed
for _ in range(300):
    os.kill(int(sys.argv[3]), signal.SIGUSR1)
    time.sleep(0.1)
    counts = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else {"events": 0, "requests": 0}
    if counts["events"] >= committed:
        break
assert counts["events"] == committed, (counts, committed)
assert counts["requests"] < counts["events"], f"events were not batched: {counts}"
print(f"relay: {counts['events']} events in {counts['requests']} requests")
PY
