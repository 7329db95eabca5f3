#!/usr/bin/env bash
# Where a GetBalance flood's rate goes (session 26): a release server on core 0 (the build in
# bin-dir, default this checkout's release build), five rounds of an unflooded run (64
# callers, 8 connections) and a flood (20,000 callers, 100 connections), each with `perf stat` on the
# server for 4 s of its middle: calls/s, server CPU µs, system calls and context switches per call.
#   benchmarks/ab/getbalance-flood-cost.sh [bin-dir]
set -u
bin=${1:-$(swift build -c release --show-bin-path)}; W=$(mktemp -d)
"$bin/commerce-server" keys add --file "$W/keys.json" >/dev/null
export COMMERCE_AUTH_KEYS="$W/keys.json"
export COMMERCE_TOKEN=$("$bin/commerce-server" token --keys "$W/keys.json" --service bench --ttl 1d)
"$bin/commerce-server" serve --db "$W/db.sqlite" --port 0 --metrics-port 0 --port-file "$W/port.json" --admin-token bench --log-level warning --synchronous full >"$W/server.log" 2>&1 &
SP=$!
for _ in $(seq 600); do [[ -s "$W/port.json" ]] && break; sleep 0.05; done
taskset -a -pc 0 $SP >/dev/null
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$W/port.json")
L() { taskset -c 1 "$bin/commerce-load" --port $port --admin-token bench --json --quiet --warmup 1 "$@"; }
for round in 1 2 3 4 5; do
  L --scenario get-balance --users 1000 --connections 8 --concurrency 64 --duration 8 > $W/calm.json &
  LP=$!
  sleep 3
  perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p $SP -- sleep 4 2> $W/perfc.txt
  wait $LP
  L --scenario get-balance --users 1000 --connections 100 --concurrency 20000 --duration 8 > $W/flood.json &
  LP=$!
  sleep 3
  perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p $SP -- sleep 4 2> $W/perf.txt
  wait $LP
  python3 - $W <<'PY'
import json,sys
w=sys.argv[1]
def rate(f):
    r=json.load(open(f)); m=r["methods"]["GetBalance"]; return m["count"]-sum(m["errors"].values()), r["seconds"]
c,cs=rate(w+"/calm.json"); f,fs=rate(w+"/flood.json")
def perf(name):
    d={}
    for line in open(w+name):
        p=line.strip().split(",")
        if len(p)>2 and p[0] and p[0][0].isdigit(): d[p[2]]=float(p[0])
    return d
pc, pf = perf("/perfc.txt"), perf("/perf.txt")
cr, fr = c/cs, f/fs
per=lambda d,r: f"cpu {d.get('task-clock',0)*1000/(r*4):.1f} us, syscalls {d.get('raw_syscalls:sys_enter',0)/(r*4):.2f}, cs {d.get('context-switches',0)/(r*4):.3f}"
print(f"calm {cr:,.0f}/s [{per(pc,cr)}] | flood {fr:,.0f}/s ({fr/cr:.2f}x) [{per(pf,fr)}]")
PY
done
kill $SP; wait $SP 2>/dev/null; rm -rf $W
