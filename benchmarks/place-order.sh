#!/usr/bin/env bash
# Durable PlaceOrder benchmark: commerce-load's `order` scenario (64 callers, synchronous=FULL)
# against a naive C loop doing one SQLite transaction per order (2 guarded updates, 2 inserts,
# synchronous=FULL), both on the same disk, in one invocation. Zero oversell is checked by the load
# generator's invariant check (API + AdminService/Audit). Writes
# benchmarks/results/<UTC date>-place-order.{json,md}.
#
#   benchmarks/place-order.sh [seconds per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup place-order
cc -O2 -Wall -Werror -o "$WORK/sqlite_order_loop" benchmarks/baselines/sqlite_order_loop.c -lsqlite3
echo "baseline: naive C loop, one durable transaction per order" >&2
"$WORK/sqlite_order_loop" "$WORK/baseline.sqlite" "$SECONDS_PER_RUN" >"$WORK/baseline.json"

start_server bench --synchronous full
echo "commerce PlaceOrder, 64 callers, synchronous=FULL" >&2
load --scenario order --concurrency 64 --connections 4 --users 1000 \
  --duration "$SECONDS_PER_RUN" --warmup 2 --plot "$OUT.svg" >"$WORK/ours.json"

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import json, sys, datetime
work, out, secs = sys.argv[1], sys.argv[2], sys.argv[3]
base, ours = json.load(open(f"{work}/baseline.json")), json.load(open(f"{work}/ours.json"))
m = ours["methods"]["PlaceOrder"]
errors = sum(m["errors"].values())
ratio = ours["rate_per_s"] / base["orders_per_s"]
result = {"benchmark": "place-order", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/place-order.sh {secs}", "baseline_orders_per_s": base["orders_per_s"],
          "commerce_orders_per_s": ours["rate_per_s"], "commerce_p50_us": m["latency_us"]["p50"],
          "commerce_p99_us": m["latency_us"]["p99"], "errors": errors, "invariants": ours["invariants"], "ratio": ratio}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Durable PlaceOrder — `{result['command']}` — {result['date']}", "",
      "| | orders/s | p50 / p99 µs | errors | invariants |", "| --- | ---: | ---: | ---: | --- |",
      f"| naive C loop, 1 txn per order | {base['orders_per_s']:,.0f} | | | |",
      f"| commerce PlaceOrder, 64 callers | {ours['rate_per_s']:,.0f} | {m['latency_us']['p50']} / {m['latency_us']['p99']} | {errors} | {ours['invariants']} |",
      "", f"Ratio: **{ratio:.2f}×** the naive loop (target ≥ 3×)."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
