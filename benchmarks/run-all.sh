#!/usr/bin/env bash
# Every benchmark, one after the other in one invocation, each against its baseline: writes each
# one's results as benchmarks/results/<stamp>-<name>.{json,md} and the summary as
# benchmarks/results/<stamp>.json and <stamp>.md (the table in the README).
#
#   benchmarks/run-all.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
for name in trivial-rpc transport-floor place-order commit-floor flash-sale top-products resources; do
  echo "=== $name" >&2
  if [[ $name == transport-floor ]]; then
    BENCH_OUT="benchmarks/results/$STAMP-$name" "benchmarks/$name.sh" 5 3   # 8 pairs x 3 rounds: 5 s runs
  else
    BENCH_OUT="benchmarks/results/$STAMP-$name" "benchmarks/$name.sh" "$SECONDS_PER_RUN"
  fi
done

python3 - "$STAMP" "$SECONDS_PER_RUN" <<'PY'
import json, platform, subprocess, sys
stamp, secs = sys.argv[1], sys.argv[2]
part = lambda name: json.load(open(f"benchmarks/results/{stamp}-{name}.json"))
trivial, transport, order, floor, flash, top, res = (
    part(n) for n in ("trivial-rpc", "transport-floor", "place-order", "commit-floor", "flash-sale", "top-products", "resources"))
rows = []
# Ratios are cut, not rounded, to two decimals: 2.9993 shows as 2.99×, never as a 3.00× that missed ≥ 3×.
down = lambda ratio: f"{int(ratio * 100) / 100:.2f}"
def row(what, ours, baseline, ratio, target, met):
    rows.append(f"| {what} | {ours} | {baseline} | {ratio} | {target} | {'yes' if met else '**no**'} |")
for run in trivial["runs"]:
    row(f"GetBalance, {run['clients']} caller(s)", f"{run['commerce_rps']:,.0f}/s (p50 {run['commerce_p50_us']:.0f} µs)",
        f"Redis GET {run['redis_rps']:,.0f}/s (p50 {run['redis_p50_us']:.0f} µs)", f"{down(run['ratio'])}×", "≥ 0.5×", run["ratio"] >= 0.5)
medians = transport["median_ratio"]
row("1 caller, where the round trip goes (median of 3 rounds)",
    f"bare SwiftNIO pair {medians['floor']:.2f}×; commerce server alone {medians['frpc-floor-to-commerce']:.2f}×, "
    f"client alone {medians['commerce-client-to-frpc-floor']:.2f}×; Health/Check {medians['health']:.2f}×, GetBalance {medians['commerce']:.2f}×",
    "Redis GET, same rounds", "—", "—", True)
row("durable PlaceOrder, 64 callers", f"{order['commerce_orders_per_s']:,.0f}/s (p99 {order['commerce_p99_us'] / 1000:.1f} ms), invariants {order['invariants']}",
    f"naive C loop {order['baseline_orders_per_s']:,.0f}/s", f"{down(order['ratio'])}×", "≥ 3×", order["ratio"] >= 3 and order["invariants"] == "hold")
row("PlaceOrder: commit thread CPU per order", f"{floor['server_commit_cpu_us']:.0f} µs (wall {floor['server_commit_wall_us']:.0f} µs, {floor['writes_per_transaction']:.0f} orders per commit)",
    f"SQLite alone, same statements in C {floor['floor_cpu_us']:.1f} µs", f"{floor['ratio']:.2f}×", "—", floor["invariants"] == "hold")
row("flash-sale rejections, 64 callers", f"{flash['commerce_rejections_per_s']:,.0f}/s (p99 {flash['commerce_issue_p99_us']} µs), invariants {flash['invariants']}",
    f"Redis INCR {flash['redis_incr_rps']:,.0f}/s", f"{flash['ratio']:.2f}×", "—", flash["invariants"] == "hold")
for run in top["runs"]:
    cache = "ranking cache 1 s" if run["ranking_cache_ms"] else "no cache"
    row(f"TopProducts, {top['order_lines']:,} lines / 3 days, {cache}", f"p99 {run['p99']} µs (p50 {run['p50']} µs)", "—", "—", "p99 ≤ 1 ms", run["p99"] <= 1000)
for run in res["runs"]:
    row(f"cost per GetBalance, {run['callers']:,} caller(s) on {run['connections']:,} connection(s)",
        f"server {run['commerce_server_cpu_us_per_call']:.1f} µs CPU, {run['commerce_server_syscalls_per_call']:.1f} syscalls; "
        f"client {run['commerce_client_cpu_us_per_call']:.1f} µs, {run['commerce_client_syscalls_per_call']:.1f}; "
        f"{run['commerce_rps']:,.0f}/s, {run['commerce_peak_rss_mib']:.0f} MiB RSS",
        f"Redis ({run['redis'].split(' -n')[0]}): server {run['redis_server_cpu_us_per_call']:.1f} µs, "
        f"{run['redis_server_syscalls_per_call']:.1f} syscalls; client {run['redis_client_cpu_us_per_call']:.1f} µs; {run['redis_rps']:,.0f}/s",
        f"{run['cpu_ratio']:.1f}× server CPU, {run['rate_ratio']:.2f}× rate", "—", run["commerce_errors"] == 0)
summary = {"date": stamp, "command": f"benchmarks/run-all.sh {secs}",
           "machine": {"cpus": subprocess.check_output(["nproc"]).decode().strip(), "kernel": platform.release()},
           "trivial_rpc": trivial, "transport_floor": transport, "place_order": order, "commit_floor": floor, "flash_sale": flash, "top_products": top, "resources": res}
json.dump(summary, open(f"benchmarks/results/{stamp}.json", "w"), indent=2)
md = [f"All benchmarks — `{summary['command']}` — {stamp}, {summary['machine']['cpus']} CPUs, server and load generator on the same machine", "",
      "| benchmark | commerce | baseline (same run) | ratio | target | met |", "| --- | --- | --- | ---: | --- | --- |"] + rows
open(f"benchmarks/results/{stamp}.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote benchmarks/results/$STAMP.json and benchmarks/results/$STAMP.md" >&2
