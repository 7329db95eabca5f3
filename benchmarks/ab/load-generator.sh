#!/usr/bin/env bash
# A/B of two commerce-load release binaries against one release server (SQLite, synchronous=FULL):
# GetBalance and PlaceOrder at 64 callers, old and new alternating twice in one invocation. It
# shows whether a change to the load generator moves the figures every benchmark reports. Build
# each and copy it to /tmp/cl-old and /tmp/cl-new first; run from a checkout with a release
# commerce-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d /tmp/clab.XXXX)
trap 'kill $SP 2>/dev/null || true; rm -rf "$WORK"' EXIT
.build/release/commerce-server serve --db "$WORK/ab.sqlite" --port 7402 --metrics-port=-1 --admin-token bench \
  --log-level warning --synchronous full >/dev/null 2>&1 &
SP=$!
sleep 1.5
for scenario in get-balance order; do for round in 1 2; do for v in old new; do
  r=$(/tmp/cl-$v --port 7402 --admin-token bench --json --quiet --scenario "$scenario" --users 1000 --concurrency 64 \
    --connections 8 --duration 8 --warmup 2 | python3 -c "import json,sys; print(round(json.load(sys.stdin)['rate_per_s']))")
  echo "$scenario $v round $round: $r ok/s"
done; done; done
