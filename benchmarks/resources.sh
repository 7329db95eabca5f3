#!/usr/bin/env bash
# Server RSS and CPU per request at 64 and 1,000 connections (one caller per connection, GetBalance,
# closed loop), against redis-server under redis-benchmark GET at the same connection counts, in
# one invocation. CPU is the server process's user+system time (/proc/PID/stat) over the run
# divided by the calls it answered; RSS is sampled every 100 ms (peak reported).
#
#   benchmarks/resources.sh [seconds per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup resources redis-server redis-tools
CLK_TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() {  # label pid command...: runs the command, records cpu ticks, peak and idle RSS
  local label=$1 pid=$2; shift 2
  local before idle
  idle=$(rss_kib "$pid"); before=$(cpu_ticks "$pid")
  touch "$WORK/$label.rss.run"; sample_rss "$pid" "$WORK/$label.rss" & local sampler=$!
  "$@"
  rm -f "$WORK/$label.rss.run"; wait "$sampler" || true
  echo "{\"cpu_seconds\": $(( $(cpu_ticks "$pid") - before )) / $CLK_TCK, \"idle_rss_kib\": $idle, \"peak_rss_kib\": $(cat "$WORK/$label.rss")}" \
    | python3 -c "import json,re,sys; s=re.sub(r'(\d+) / (\d+)', lambda m: str(int(m[1]) / int(m[2])), sys.stdin.read()); print(json.dumps(json.loads(s)))" \
    >"$WORK/$label.res.json"
}

start_redis
start_server resources --synchronous full
for conns in 64 1000; do
  echo "commerce GetBalance, $conns connections x 1 caller" >&2
  measure "ours-$conns" "$SERVER_PID" bash -c "\"$BIN/commerce-load\" --port $PORT --scenario get-balance --connections $conns \
    --concurrency $conns --duration $SECONDS_PER_RUN --warmup 0 --json --quiet >\"$WORK/ours-$conns.json\""
  echo "redis GET, $conns clients" >&2
  measure "redis-$conns" "$REDIS_PID" bash -c "redis-benchmark -p $REDIS_PORT -t get -c $conns -n $(( conns == 64 ? 1000000 : 1500000 )) \
    -P 1 --csv 2>/dev/null | tail -1 >\"$WORK/redis-$conns.csv\""
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import csv, json, sys, datetime
work, out, secs = sys.argv[1:4]
result = {"benchmark": "resources", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/resources.sh {secs}", "runs": []}
rows = []
for conns in (64, 1000):
    ours, ours_res = json.load(open(f"{work}/ours-{conns}.json")), json.load(open(f"{work}/ours-{conns}.res.json"))
    r = list(csv.reader(open(f"{work}/redis-{conns}.csv")))[-1]
    redis_res = json.load(open(f"{work}/redis-{conns}.res.json"))
    # redis-benchmark reports its rate; its run length is requests / rate.
    redis_requests = (1000000 if conns == 64 else 1500000)
    ours_calls = ours["total"]
    run = {"connections": conns, "commerce_calls": ours_calls, "commerce_rps": ours["rate_per_s"],
           "commerce_errors": sum(sum(m["errors"].values()) for m in ours["methods"].values()),
           "commerce_cpu_us_per_call": ours_res["cpu_seconds"] * 1e6 / max(1, ours_calls),
           "commerce_peak_rss_mib": ours_res["peak_rss_kib"] / 1024, "commerce_idle_rss_mib": ours_res["idle_rss_kib"] / 1024,
           "redis_rps": float(r[1]), "redis_cpu_us_per_call": redis_res["cpu_seconds"] * 1e6 / redis_requests,
           "redis_peak_rss_mib": redis_res["peak_rss_kib"] / 1024}
    run["cpu_ratio"] = run["commerce_cpu_us_per_call"] / max(run["redis_cpu_us_per_call"], 1e-9)
    result["runs"].append(run)
    rows.append(f"| {conns} | {run['commerce_rps']:,.0f} | {run['commerce_cpu_us_per_call']:.1f} | {run['commerce_peak_rss_mib']:.0f} "
                f"(idle {run['commerce_idle_rss_mib']:.0f}) | {run['redis_rps']:,.0f} | {run['redis_cpu_us_per_call']:.1f} | "
                f"{run['redis_peak_rss_mib']:.0f} | {run['cpu_ratio']:.1f}× | {run['commerce_errors']} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Server resources, GetBalance — `{result['command']}` — {result['date']}", "",
      "| connections | commerce calls/s | CPU µs/call | RSS MiB peak | Redis GET/s | Redis CPU µs/call | Redis RSS MiB | CPU/call vs Redis | errors |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
