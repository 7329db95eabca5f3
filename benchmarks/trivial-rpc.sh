#!/usr/bin/env bash
# Trivial RPC benchmark: GetBalance through commerce-load at 1 and 64 concurrent callers, against
# redis-benchmark GET at the same client counts on a local redis-server, in one invocation.
# Writes benchmarks/results/<UTC date>-trivial-rpc.{json,md} with the ratios.
#
#   benchmarks/trivial-rpc.sh [seconds per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup trivial-rpc redis-server redis-tools
start_redis
start_server trivial
redis-cli -p "$REDIS_PORT" set key:000000000000 value >/dev/null

redis_rps() {  # clients -> requests per second (and p50 ms) from redis-benchmark's CSV
  local clients=$1 requests=$(( $1 == 1 ? 150000 : 1000000 ))
  redis-benchmark -p "$REDIS_PORT" -t get -c "$clients" -n "$requests" -P 1 --csv 2>/dev/null | tail -1
}

declare -A OURS REDIS
for clients in 1 64; do
  connections=$(( clients == 1 ? 1 : 4 ))
  echo "commerce GetBalance, $clients caller(s)" >&2
  load --scenario get-balance --concurrency "$clients" --connections "$connections" \
    --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/ours-$clients.json"
  echo "redis GET, $clients client(s)" >&2
  redis_rps "$clients" >"$WORK/redis-$clients.csv"
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import csv, json, platform, subprocess, sys, datetime
work, out, secs = sys.argv[1], sys.argv[2], sys.argv[3]
rows, result = [], {"benchmark": "trivial-rpc", "date": datetime.datetime.utcnow().isoformat() + "Z",
                    "machine": {"cpus": subprocess.check_output(["nproc"]).decode().strip(), "kernel": platform.release()},
                    "command": f"benchmarks/trivial-rpc.sh {secs}", "runs": []}
for clients in (1, 64):
    ours = json.load(open(f"{work}/ours-{clients}.json"))
    r = list(csv.reader(open(f"{work}/redis-{clients}.csv")))[-1]
    # redis-benchmark CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    redis_rps, redis_p50_us, redis_p99_us = float(r[1]), float(r[4]) * 1000, float(r[6]) * 1000
    m = ours["methods"]["GetBalance"]
    errors = sum(m["errors"].values())
    run = {"clients": clients, "commerce_rps": ours["rate_per_s"], "commerce_p50_us": m["latency_us"]["p50"],
           "commerce_p99_us": m["latency_us"]["p99"], "commerce_errors": errors,
           "redis_rps": redis_rps, "redis_p50_us": redis_p50_us, "redis_p99_us": redis_p99_us,
           "ratio": ours["rate_per_s"] / redis_rps}
    result["runs"].append(run)
    rows.append(f"| {clients} | {run['commerce_rps']:,.0f} | {run['commerce_p50_us']:.0f} / {run['commerce_p99_us']:.0f} | "
                f"{redis_rps:,.0f} | {redis_p50_us:.0f} / {redis_p99_us:.0f} | **{run['ratio']:.2f}×** | {errors} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Trivial RPC — `{result['command']}` — {result['date']}", "",
      "| callers | GetBalance req/s | p50 / p99 µs | Redis GET req/s | p50 / p99 µs | ratio | errors |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
