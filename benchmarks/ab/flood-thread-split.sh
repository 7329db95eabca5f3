#!/usr/bin/env bash
# Where a server's CPU goes per order, thread by thread, unflooded and flooded, on one server: a
# release server pinned to core 0 (--synchronous full) gets 64 callers on 8 connections, then 20,000
# on 100, of PlaceOrder for 10 s each from core 1; the threads' CPU ticks are read from
# /proc/PID/task/*/stat over seconds 3-9 of each phase. Prints, per phase, the OK rate over the whole
# run and the server's CPU per order by thread name (Dispatch's workers, the event loop, ...). Like
# overload.sh's order phases, without the health probe and the RSS sampler. One round per call.
#
#   BIN=<dir with a release commerce-server and commerce-load> benchmarks/ab/flood-thread-split.sh
set -u
bin=${BIN:?BIN=<dir of a release build>}
W=$(mktemp -d)
"$bin/commerce-server" keys add --file "$W/keys.json" >/dev/null
export COMMERCE_AUTH_KEYS="$W/keys.json"
export COMMERCE_TOKEN=$("$bin/commerce-server" token --keys "$W/keys.json" --service bench --ttl 1d)
taskset -c 0 "$bin/commerce-server" serve --db "$W/db.sqlite" --port 0 --metrics-port=-1 --port-file "$W/port.json" --admin-token bench --log-level warning --events-file "$W/events.jsonl" --synchronous full >"$W/server.log" 2>&1 &
SP=$!
for _ in $(seq 600); do [[ -s "$W/port.json" ]] && break; sleep 0.05; done
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$W/port.json")
snap() { for t in /proc/$SP/task/*; do echo "$(basename $t) $(cat $t/comm | tr ' ' _) $(awk '{print $14+$15}' $t/stat)"; done > $1; }
phase() { # name conc conns
  taskset -c 1 "$bin/commerce-load" --port $port --admin-token bench --json --quiet --duration 10 --warmup 1 --scenario order --users 1000 --connections $3 --concurrency $2 > "$W/$1.json" &
  local lp=$!
  sleep 3; snap "$W/$1.a"; sleep 6; snap "$W/$1.b"
  wait $lp
}
phase calm 64 8
phase flood 20000 100
python3 - "$W" <<'PY'
import json, sys, collections
w = sys.argv[1]
for ph in ("calm", "flood"):
    r = json.load(open(f"{w}/{ph}.json"))
    a = {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in open(f"{w}/{ph}.a")}
    b = {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in open(f"{w}/{ph}.b")}
    by = collections.Counter()
    for tid, (name, t) in b.items():
        by[name] += t - a.get(tid, (name, 0))[1]
    rate = r["rate_per_s"]
    orders = rate * 6
    total = sum(by.values())
    print(f"{ph}: {rate:.0f} OK/s, server {total/6:.0f}% of a core, µs/order by thread:",
          ", ".join(f"{n} {v*10000/orders:.0f}" for n, v in by.most_common(6)), f"total {total*10000/orders:.0f}")
PY
kill $SP; wait $SP 2>/dev/null; rm -rf $W
