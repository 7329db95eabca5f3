#!/usr/bin/env bash
# A/B of two commerce-server release binaries on GetBalance at 64 callers against one PostgreSQL,
# alternating old and new twice in one invocation. Build each and copy it to /tmp/cs-old and
# /tmp/cs-new first; run from a checkout with a release commerce-load.
set -euo pipefail
cd "$(dirname "$0")/../.."
PGD=$(mktemp -d /tmp/pgab.XXXX)
URL=$(scripts/postgres.sh start $PGD 57532)
psql -q "$URL" -c "CREATE DATABASE ab"
DB="${URL%/*}/ab"
/tmp/cs-new migrate --db "$DB" >/dev/null
for round in 1 2; do for v in old new; do
  /tmp/cs-$v serve --db "$DB" --port 7401 --metrics-port=-1 --admin-token bench --log-level warning >/dev/null 2>&1 &
  SP=$!; sleep 1.5
  r=$(.build/release/commerce-load --port 7401 --admin-token bench --json --quiet --scenario get-balance --concurrency 64 --connections 4 --duration 8 --warmup 2 | python3 -c "import json,sys; print(json.load(sys.stdin)['rate_per_s'])")
  echo "$v round $round: $r"
  kill $SP; wait $SP
done; done
scripts/postgres.sh stop $PGD; rm -rf $PGD
