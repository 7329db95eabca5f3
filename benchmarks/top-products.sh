#!/usr/bin/env bash
# TopProducts latency with 1,000,000 paid order lines over the last 3 days (commerce-server seed
# --history-lines, through the same code as PlaceOrder). Measured at 1 caller, with the server's
# ranking cache as shipped (1 s) and with it off (every call reads the rollups). Target: p99 ≤ 1 ms.
#
#   benchmarks/top-products.sh [seconds per run, default 10] [order lines, default 1000000]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
LINES="${2:-1000000}"
bench_setup top-products
echo "seeding $LINES order lines over 3 days" >&2
SEED_START=$(date +%s.%N)
"$BIN/commerce-server" seed --db "$WORK/history.sqlite" --history-lines "$LINES" --history-days 3 >&2
SEED_SECONDS=$(python3 -c "import sys,time; print(time.time() - float(sys.argv[1]))" "$SEED_START")
for cache in 1000 0; do
  start_server history --ranking-cache-ms "$cache"
  echo "TopProducts, 1 caller, ranking cache ${cache} ms" >&2
  load --scenario top-products --concurrency 1 --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/cache-$cache.json"
  stop_server
done
"$BIN/commerce-server" audit --db "$WORK/history.sqlite" >&2

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "$LINES" "$SEED_SECONDS" <<'PY'
import json, sqlite3, sys, datetime
work, out, secs, lines, seed_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
db = sqlite3.connect(f"{work}/history.sqlite")
stored = db.execute("SELECT COUNT(*) FROM order_lines").fetchone()[0]
result = {"benchmark": "top-products", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/top-products.sh {secs} {lines}", "order_lines": stored, "days": 3,
          "seed_seconds": seed_s, "target_p99_us": 1000, "runs": []}
rows = []
for cache in (1000, 0):
    ours = json.load(open(f"{work}/cache-{cache}.json"))
    m = ours["methods"]["TopProducts"]
    run = {"ranking_cache_ms": cache, "rps": ours["rate_per_s"], "errors": sum(m["errors"].values()), **{k: v for k, v in m["latency_us"].items()}}
    result["runs"].append(run)
    rows.append(f"| {'1 s (default)' if cache else 'off'} | {run['rps']:,.0f} | {run['p50']} | {run['p99']} | {run['p99_9']} | {run['errors']} | "
                f"{'**met**' if run['p99'] <= 1000 else '**missed**'} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"TopProducts over {stored:,} order lines in 3 days — `{result['command']}` — {result['date']}", "",
      "| ranking cache | calls/s (1 caller) | p50 µs | p99 µs | p99.9 µs | errors | p99 ≤ 1 ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
