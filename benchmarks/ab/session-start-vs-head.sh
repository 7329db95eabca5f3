#!/usr/bin/env bash
# A/B at session start (64d1de7) against HEAD: GetBalance, 1 and 64 callers, the session-start load
# generator for both, the HEAD server with --auth off (the token's own cost is auth.sh's).
#
#   OLD=<release bin dir of the old commit> NEW=<release bin dir of HEAD> W=<scratch dir> benchmarks/ab/session-start-vs-head.sh
set -euo pipefail
OLD=${OLD:-/work/bench/.build/release}; NEW=${NEW:-.build/release}; W=${W:-$(mktemp -d)}
run() {  # tag server-bin callers round [serve options]
  local tag=$1 bin=$2 callers=$3 round=$4; shift 4
  rm -f $W/port.json $W/$tag.sqlite*
  "$bin/commerce-server" serve --db $W/$tag.sqlite --port 0 --metrics-port=-1 --port-file $W/port.json --admin-token bench \
    --log-level warning --events-file $W/$tag.jsonl "$@" >>$W/server.log 2>&1 &
  local pid=$!
  for _ in $(seq 600); do [[ -s $W/port.json ]] && break; sleep 0.05; done
  local port=$(python3 -c "import json; print(json.load(open('$W/port.json'))['rpc'])")
  local conns=$(( callers == 1 ? 1 : 4 ))
  env -u COMMERCE_TOKEN "$OLD/commerce-load" --port $port --admin-token bench --json --quiet --scenario get-balance \
    --concurrency $callers --connections $conns --duration 8 --warmup 2 > $W/$tag-$callers-$round.json
  kill $pid; wait $pid 2>/dev/null || true
}
for round in 1 2 3; do
  for callers in 1 64; do
    if (( round % 2 )); then run old $OLD $callers $round; run new $NEW $callers $round --auth off
    else run new $NEW $callers $round --auth off; run old $OLD $callers $round; fi
  done
done
W=$W python3 - <<'PY'
import json, statistics
for callers in (1, 64):
    out = {}
    for tag in ("old", "new"):
        rs = [json.load(open(f"{__import__('os').environ['W']}/{tag}-{callers}-{r}.json")) for r in (1, 2, 3)]
        out[tag] = ([round(x["rate_per_s"]) for x in rs], [x["methods"]["GetBalance"]["latency_us"]["p50"] for x in rs])
    ratios = [n / o for n, o in zip(out["new"][0], out["old"][0])]
    print(callers, "old", out["old"], "new", out["new"], "new/old per round", [round(r, 2) for r in ratios], "median", round(statistics.median(ratios), 2))
PY
