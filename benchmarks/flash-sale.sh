#!/usr/bin/env bash
# Flash sale: 10,000 users race for 1,000 coupons at 64 callers, then order with the ones they get
# (commerce-load --scenario flash-sale; invariants checked afterwards). Once the coupons are gone
# every IssueCoupon is a rejection; the figure is rejections per second, against Redis INCR (the
# counter a Redis flash sale would use) at the same client count, in one invocation.
#
#   benchmarks/flash-sale.sh [seconds, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup flash-sale redis-server redis-tools
start_redis
start_server flash --synchronous full
echo "commerce flash sale: 10,000 users, 1,000 coupons, 64 callers" >&2
load --scenario flash-sale --users 10000 --coupons 1000 --concurrency 64 --connections 4 \
  --duration "$SECONDS_PER_RUN" --warmup 2 --plot "$OUT.svg" >"$WORK/ours.json"
echo "redis INCR, 64 clients" >&2
redis-benchmark -p "$REDIS_PORT" -t incr -c 64 -n 1000000 -P 1 --csv 2>/dev/null | tail -1 >"$WORK/redis.csv"

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import csv, json, sys, datetime
work, out, secs = sys.argv[1:4]
ours = json.load(open(f"{work}/ours.json"))
r = list(csv.reader(open(f"{work}/redis.csv")))[-1]
issue = ours["methods"].get("IssueCoupon", {"count": 0, "errors": {}, "latency_us": {"p50": 0, "p99": 0}})
# Rejections: the campaign is sold out, or this user already holds one. Anything else is an error.
rejected = sum(v for k, v in issue["errors"].items() if k.endswith(("COUPON_SOLD_OUT", "COUPON_ALREADY_ISSUED")))
unexpected = {k: v for m in ours["methods"].values() for k, v in m["errors"].items()
              if not k.endswith(("COUPON_SOLD_OUT", "COUPON_ALREADY_ISSUED"))}
rps = rejected / ours["seconds"]
result = {"benchmark": "flash-sale", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/flash-sale.sh {secs}", "clients": 64,
          "commerce_rejections_per_s": rps, "commerce_issue_p50_us": issue["latency_us"]["p50"],
          "commerce_issue_p99_us": issue["latency_us"]["p99"], "unexpected_errors": unexpected,
          "invariants": ours["invariants"], "invariants_broken": ours["invariants_broken"],
          "redis_incr_rps": float(r[1]), "redis_p50_us": float(r[4]) * 1000, "redis_p99_us": float(r[6]) * 1000,
          "ratio": rps / float(r[1])}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Flash sale — `{result['command']}` — {result['date']}", "",
      "| 64 callers | per s | p50 / p99 µs | invariants |", "| --- | ---: | ---: | --- |",
      f"| commerce IssueCoupon rejections | {rps:,.0f} | {issue['latency_us']['p50']} / {issue['latency_us']['p99']} | {ours['invariants']} |",
      f"| Redis INCR | {result['redis_incr_rps']:,.0f} | {result['redis_p50_us']:.0f} / {result['redis_p99_us']:.0f} | |",
      "", f"Ratio: **{result['ratio']:.2f}×** Redis INCR. Unexpected errors: {unexpected or 'none'}."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
