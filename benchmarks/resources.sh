#!/usr/bin/env bash
# What a call costs, on both sides of the socket, against Redis in the same invocation: GetBalance
# (closed loop) against redis-benchmark GET in four shapes —
#   1 caller on 1 connection            vs  redis-benchmark -c 1
#   64 connections, one caller each    vs  redis-benchmark -c 64
#   64 callers multiplexed on 4 conns  vs  redis-benchmark -c 4 -P 16 (the same 16 in flight per connection)
#   1,000 connections, one caller each vs  redis-benchmark -c 1000
# For each side, per call: CPU µs and system calls (`perf stat -e task-clock,raw_syscalls:sys_enter`,
# the server attached by pid, the client from its start), so what a call costs the server and what
# it costs its client are both reported, and how many reads and writes a call takes. Also the
# server's peak RSS (sampled every 100 ms), calls/s, and p50 for the single caller. perf's counting
# slows both servers alike; the rates of record are trivial-rpc.sh's.
#
#   benchmarks/resources.sh [seconds per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup resources redis-server redis-tools linux-perf

COUNTERS=task-clock,raw_syscalls:sys_enter
# measure label pid command...: runs the command under perf (the client's cost) while a second perf
# counts the server by pid and RSS is sampled.
measure() {
  local label=$1 pid=$2; shift 2
  local idle; idle=$(rss_kib "$pid")
  touch "$WORK/$label.rss.run"; sample_rss "$pid" "$WORK/$label.rss" & local sampler=$!
  perf stat -x, -e "$COUNTERS" -p "$pid" -o "$WORK/$label.server.perf" & local server_perf=$!
  sleep 0.2  # perf attached before the first call
  perf stat -x, -e "$COUNTERS" -o "$WORK/$label.client.perf" -- "$@"
  kill -INT "$server_perf"; wait "$server_perf" || true
  rm -f "$WORK/$label.rss.run"; wait "$sampler" || true
  echo "{\"idle_rss_kib\": $idle, \"peak_rss_kib\": $(cat "$WORK/$label.rss")}" >"$WORK/$label.rss.json"
}

start_redis
redis-cli -p "$REDIS_PORT" set key:000000000000 value >/dev/null
start_server resources --synchronous full
# shape connections callers redis-clients redis-pipeline redis-requests
SHAPES=("single 1 1 1 1 150000" "connections-64 64 64 64 1 1000000" "multiplexed 4 64 4 16 6000000"
  "connections-1000 1000 1000 1000 1 1500000")
for spec in "${SHAPES[@]}"; do
  read -r shape conns callers rclients pipeline requests <<<"$spec"
  echo "commerce GetBalance, $callers caller(s) on $conns connection(s)" >&2
  measure "ours-$shape" "$SERVER_PID" bash -c "\"$BIN/commerce-load\" --port $PORT --scenario get-balance \
    --connections $conns --concurrency $callers --duration $SECONDS_PER_RUN --warmup 0 --json --quiet >\"$WORK/ours-$shape.json\""
  echo "redis GET, -c $rclients -P $pipeline" >&2
  measure "redis-$shape" "$REDIS_PID" bash -c "redis-benchmark -p $REDIS_PORT -t get -c $rclients -n $requests -P $pipeline \
    --csv 2>/dev/null | tail -1 >\"$WORK/redis-$shape.csv\""
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "${SHAPES[@]}" <<'PY'
import csv, json, sys, datetime
work, out, secs, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
result = {"benchmark": "resources", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/resources.sh {secs}", "runs": []}

def perf(path):  # perf stat -x, lines: value,unit,event,... -> {event: value}; task-clock in ms
    counts = {}
    for line in open(path):
        fields = line.strip().split(",")
        if len(fields) >= 3 and fields[0] and fields[0][0].isdigit():
            counts[fields[2]] = float(fields[0])
    return counts["task-clock"] * 1e3, counts["raw_syscalls:sys_enter"]  # CPU µs, system calls

rows = []
for spec in specs:
    shape, conns, callers, rclients, pipeline, requests = spec.split()
    ours = json.load(open(f"{work}/ours-{shape}.json"))
    calls = ours["total"]  # every call, the warm-up included: what the perf counters saw
    r = list(csv.reader(open(f"{work}/redis-{shape}.csv")))[-1]
    redis_calls = int(requests)
    run = {"shape": shape, "connections": int(conns), "callers": int(callers),
           "redis": f"redis-benchmark -c {rclients} -P {pipeline} -n {requests}",
           "commerce_calls": calls, "commerce_rps": ours["rate_per_s"],
           "commerce_p50_us": ours["methods"]["GetBalance"]["latency_us"]["p50"],
           "commerce_errors": sum(sum(m["errors"].values()) for m in ours["methods"].values()),
           "redis_rps": float(r[1]), "redis_p50_us": float(r[4]) * 1000}
    for side, label, n in (("commerce", "ours", calls), ("redis", "redis", redis_calls)):
        for who in ("server", "client"):
            cpu, syscalls = perf(f"{work}/{label}-{shape}.{who}.perf")
            run[f"{side}_{who}_cpu_us_per_call"] = cpu / n
            run[f"{side}_{who}_syscalls_per_call"] = syscalls / n
        rss = json.load(open(f"{work}/{label}-{shape}.rss.json"))
        run[f"{side}_peak_rss_mib"], run[f"{side}_idle_rss_mib"] = rss["peak_rss_kib"] / 1024, rss["idle_rss_kib"] / 1024
    # Kept under their old names for run-all.sh and earlier results.
    run["commerce_cpu_us_per_call"] = run["commerce_server_cpu_us_per_call"]
    run["redis_cpu_us_per_call"] = run["redis_server_cpu_us_per_call"]
    run["cpu_ratio"] = run["commerce_server_cpu_us_per_call"] / run["redis_server_cpu_us_per_call"]
    run["client_cpu_ratio"] = run["commerce_client_cpu_us_per_call"] / run["redis_client_cpu_us_per_call"]
    run["rate_ratio"] = run["commerce_rps"] / run["redis_rps"]
    result["runs"].append(run)
    c, d = run, lambda k: f"{run['commerce_' + k]:.1f} / {run['redis_' + k]:.1f}"
    rows.append(f"| {shape} ({callers} on {conns}) | {c['commerce_rps']:,.0f} / {c['redis_rps']:,.0f} ({c['rate_ratio']:.2f}×) | "
                f"{c['commerce_p50_us']:.0f} / {c['redis_p50_us']:.0f} | {d('server_cpu_us_per_call')} ({c['cpu_ratio']:.1f}×) | "
                f"{d('server_syscalls_per_call')} | {d('client_cpu_us_per_call')} ({c['client_cpu_ratio']:.1f}×) | "
                f"{d('client_syscalls_per_call')} | {c['commerce_peak_rss_mib']:.0f} (idle {c['commerce_idle_rss_mib']:.0f}) / "
                f"{c['redis_peak_rss_mib']:.0f} | {c['commerce_errors']} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Cost per call, GetBalance against Redis GET — `{result['command']}` — {result['date']}",
      "", "Each cell: ours / Redis's. Counted under `perf stat` (both sides slowed alike); Redis's shapes in the JSON.", "",
      "| shape (callers on connections) | calls/s | p50 µs | server CPU µs/call | server syscalls/call | client CPU µs/call | client syscalls/call | server RSS MiB | errors |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
