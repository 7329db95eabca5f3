#!/usr/bin/env bash
# A/B of two server builds in alternating rounds, one load generator for both, --auth off on both
# (the token's cost is auth.sh's): GetBalance at 1 and 64 callers, durable PlaceOrder at 64 callers.
# For a change that should cost nothing (issue 17's "nothing may get slower").
#
#   OLD=<bin dir of the old build> NEW=<bin dir of the new build> LOAD=<bin dir of commerce-load> \
#     ROUNDS=3 W=<scratch dir> benchmarks/ab/two-servers.sh
#   OLD_ARGS / NEW_ARGS: more flags for one side's server (the same build twice, a setting A/B).
set -euo pipefail
OLD=${OLD:?}; NEW=${NEW:?}; LOAD=${LOAD:-$OLD}; ROUNDS=${ROUNDS:-3}; W=${W:-$(mktemp -d)}
OLD_ARGS=${OLD_ARGS:-}; NEW_ARGS=${NEW_ARGS:-}
run() {  # tag server-bin case round
  local tag=$1 bin=$2 case=$3 round=$4 extra
  if [[ $tag == old ]]; then extra=$OLD_ARGS; else extra=$NEW_ARGS; fi
  rm -f $W/port.json $W/$tag.sqlite* $W/$tag.jsonl
  "$bin/commerce-server" serve --db $W/$tag.sqlite --port 0 --metrics-port=-1 --port-file $W/port.json --admin-token bench \
    --auth off --log-level warning --events-file $W/$tag.jsonl --synchronous full $extra >>$W/server.log 2>&1 &
  local pid=$!
  for _ in $(seq 600); do [[ -s $W/port.json ]] && break; sleep 0.05; done
  local port=$(python3 -c "import json; print(json.load(open('$W/port.json'))['rpc'])")
  case $case in
    balance-1) args=(--scenario get-balance --concurrency 1 --connections 1) ;;
    balance-64) args=(--scenario get-balance --concurrency 64 --connections 4) ;;
    order-64) args=(--scenario order --concurrency 64 --connections 4 --users 1000) ;;
  esac
  env -u COMMERCE_TOKEN "$LOAD/commerce-load" --port $port --admin-token bench --json --quiet "${args[@]}" \
    --duration 8 --warmup 2 > $W/$tag-$case-$round.json
  kill $pid; wait $pid 2>/dev/null || true
}
for round in $(seq $ROUNDS); do
  for case in balance-1 balance-64 order-64; do
    if (( round % 2 )); then run old $OLD $case $round; run new $NEW $case $round
    else run new $NEW $case $round; run old $OLD $case $round; fi
  done
done
W=$W ROUNDS=$ROUNDS python3 - <<'PY'
import json, os, statistics
W, rounds = os.environ["W"], int(os.environ["ROUNDS"])
for case in ("balance-1", "balance-64", "order-64"):
    rate = {tag: [json.load(open(f"{W}/{tag}-{case}-{r}.json"))["rate_per_s"] for r in range(1, rounds + 1)] for tag in ("old", "new")}
    ratios = [n / o for n, o in zip(rate["new"], rate["old"])]
    print(f"{case}: old {[round(x) for x in rate['old']]} new {[round(x) for x in rate['new']]} "
          f"new/old per round {[round(r, 2) for r in ratios]} median {statistics.median(ratios):.2f}")
PY
