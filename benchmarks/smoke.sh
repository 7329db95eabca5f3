#!/usr/bin/env bash
# A tiny run of every commerce-load scenario against a fresh debug server: proves the load
# generator and its scenarios work end to end (part of the test command; not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build --show-bin-path)"
WORK="$(mktemp -d)"
"$BIN/commerce-server" serve --db "$WORK/smoke.sqlite" --seed-demo --port 0 --metrics-port=-1 \
  --port-file "$WORK/port.json" --admin-token smoke --log-level warning --synchronous normal &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; kill -0 $SERVER_PID || exit 1; sleep 0.05; done
PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
# scenario:allowed failure reasons (comma-separated)
for spec in get-balance: read: charge: order: hot-product:OUT_OF_STOCK flash-sale:COUPON_SOLD_OUT; do
  scenario="${spec%%:*}" allowed="${spec#*:}"
  echo "--- commerce-load smoke: $scenario"
  "$BIN/commerce-load" --scenario "$scenario" --port "$PORT" --concurrency 8 --connections 2 --requests 300 \
    --warmup 0 --users 40 --stock 30 --coupons 20 --admin-token smoke --json --quiet >"$WORK/$scenario.json"
  python3 - "$WORK/$scenario.json" "$allowed" <<'PY'
import json, sys
report, allowed = json.load(open(sys.argv[1])), set(filter(None, sys.argv[2].split(",")))
errors = {k: v for m in report["methods"].values() for k, v in m["errors"].items() if k.split("/")[-1] not in allowed}
assert report["total"] >= 300, f"only {report['total']} calls measured"
assert not errors, f"unexpected errors: {errors}"
assert report["invariants"] in ("hold", "not checked"), report["invariants_broken"]
print(f"{report['scenario']}: {report['total']} calls, invariants {report['invariants']}")
PY
done
"$BIN/commerce-server" audit --db "$WORK/smoke.sqlite"
