#!/usr/bin/env bash
# A Health/Check probe measured two ways beside PlaceOrder floods, on one release server (pinned to
# core 0, --synchronous full; load generators on core 1): 64 callers on 8 connections, then 20,000
# on 100, 10 s each. PROBE=closed: one caller calling back to back (what overload.sh did until
# session 25); PROBE=rate: 200 calls a second, open loop, latency from the scheduled start;
# PROBE=nicerate: the same at nice -10 (root). PROBE_CALM=1 runs the probe in the unflooded phase
# too. SERVER_ARGS go to the server (e.g. "--worker-nice 12"). Prints the OK rates, their ratio and
# the probe's rate and p99 in each phase, then the flood probe's latency summary. One round per call.
#
#   BIN=<dir with a release commerce-server and commerce-load> PROBE=nicerate PROBE_CALM=1 \
#     SERVER_ARGS="--worker-nice 12" benchmarks/ab/probe-worker-nice.sh
set -u
bin=${BIN:?}; W=$(mktemp -d)
"$bin/commerce-server" keys add --file "$W/keys.json" >/dev/null
export COMMERCE_AUTH_KEYS="$W/keys.json"
export COMMERCE_TOKEN=$("$bin/commerce-server" token --keys "$W/keys.json" --service bench --ttl 1d)
"$bin/commerce-server" serve --db "$W/db.sqlite" --port 0 --metrics-port=-1 --port-file "$W/port.json" --admin-token bench --log-level warning --events-file "$W/events.jsonl" --synchronous full ${SERVER_ARGS:-} >"$W/server.log" 2>&1 &
SP=$!
for _ in $(seq 600); do [[ -s "$W/port.json" ]] && break; sleep 0.05; done
taskset -a -pc 0 $SP >/dev/null
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$W/port.json")
L() { taskset -c 1 "$bin/commerce-load" --port $port --admin-token bench --json --quiet --duration 10 --warmup 1 "$@"; }
probe() { case $PROBE in closed) L --scenario health --connections 1 --concurrency 1 > $1 ;; rate) L --scenario health --connections 1 --concurrency 4 --rate 200 > $1 ;; nicerate) nice -n -10 taskset -c 1 "$bin/commerce-load" --port $port --admin-token bench --json --quiet --duration 10 --warmup 1 --scenario health --connections 1 --concurrency 4 --rate 200 > $1 ;; none) echo '{}' > $1 ;; esac; }
pp=""
if [[ ${PROBE_CALM:-0} == 1 ]]; then probe $W/calm-probe.json & pp=$!; fi
L --scenario order --users 1000 --connections 8 --concurrency 64 > $W/calm.json
[[ -n $pp ]] && wait $pp
probe $W/flood-probe.json & pp=$!
L --scenario order --users 1000 --connections 100 --concurrency 20000 > $W/flood.json
wait $pp
python3 - $W <<'PY'
import json,sys
w=sys.argv[1]
def ok(r): 
    c=sum(m["count"] for m in r["methods"].values()); e=sum(sum(m["errors"].values()) for m in r["methods"].values()); return (c-e)/r["seconds"]
c=ok(json.load(open(w+"/calm.json"))); f=ok(json.load(open(w+"/flood.json")))
def pr(p):
    try:
        r=json.load(open(p)); m=list(r["methods"].values())[0]; return f'{m["count"]/r["seconds"]:.0f}/s p99 {m["latency_us"]["p99"]/1000:.1f}ms'
    except Exception: return "-"
import os
print(f'{os.environ.get("SERVER_ARGS","")} {os.environ["PROBE"]} calm-probe={os.environ.get("PROBE_CALM","0")}: calm {c:.0f} flood {f:.0f} ratio {f/c:.2f} | probe calm {pr(w+"/calm-probe.json")} flood {pr(w+"/flood-probe.json")}')
PY
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print([ (k, m[\"latency_us\"]) for k,m in r[\"methods\"].items()]); print({k:v for k,v in r.items() if k not in (\"methods\",)})" $W/flood-probe.json
kill $SP; wait $SP 2>/dev/null; rm -rf $W
