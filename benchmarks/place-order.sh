#!/usr/bin/env bash
# Durable PlaceOrder benchmark: commerce-load's `order` scenario (64 callers, synchronous=FULL)
# against a naive C loop doing one SQLite transaction per order (2 guarded updates, 2 inserts,
# synchronous=FULL), both on the same disk, in one invocation. Zero oversell is checked by the load
# generator's invariant check (API + AdminService/Audit). Writes
# benchmarks/results/<UTC date>-place-order.{json,md}.
#
#   benchmarks/place-order.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
scripts/install-deps.sh
swift build -c release --product commerce-server >&2
swift build -c release --product commerce-load >&2
BIN="$(swift build -c release --show-bin-path)"
mkdir -p benchmarks/results
WORK="$(mktemp -d -p "$PWD/benchmarks/results" tmp.XXXXXX)"   # the repository's disk, for both runs
STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
OUT="benchmarks/results/${STAMP}-place-order"
cleanup() { kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cc -O2 -Wall -Werror -o "$WORK/sqlite_order_loop" benchmarks/baselines/sqlite_order_loop.c -lsqlite3
echo "baseline: naive C loop, one durable transaction per order" >&2
"$WORK/sqlite_order_loop" "$WORK/baseline.sqlite" "$SECONDS_PER_RUN" >"$WORK/baseline.json"

"$BIN/commerce-server" serve --db "$WORK/bench.sqlite" --synchronous full --port 0 --metrics-port=-1 \
  --port-file "$WORK/port.json" --admin-token bench --log-level warning --events-file "$WORK/events.jsonl" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; kill -0 $SERVER_PID; sleep 0.05; done
PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
echo "commerce PlaceOrder, 64 callers, synchronous=FULL" >&2
"$BIN/commerce-load" --scenario order --port "$PORT" --concurrency 64 --connections 4 --users 200 \
  --duration "$SECONDS_PER_RUN" --warmup 2 --admin-token bench --json --quiet >"$WORK/ours.json"

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
