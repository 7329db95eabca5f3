#!/usr/bin/env bash
# Floods at ten times what the server admits, and what stays up: a release server at its defaults
# (--max-calls-in-flight 8192, --max-queued-writes 10000, synchronous=FULL) gets 20,000 callers on
# 100 connections, first of PlaceOrder, then of GetBalance. During each flood a Health/Check probe
# on a connection of its own calls once at a time. Reported per flood: calls accepted and refused
# (OVERLOADED and the rest), the accepted calls' rate against the same method's unflooded rate
# (64 callers, measured just before), the probe's p99, and the server's RSS before, at its peak and
# 5 s after the flood.
#
#   benchmarks/overload.sh [seconds per flood, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup overload
load() { "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet "$@"; }

start_server overload --synchronous full
for scenario in order get-balance; do
  echo "unflooded $scenario, 64 callers" >&2
  load --scenario "$scenario" --users 1000 --connections 8 --concurrency 64 --duration "$SECONDS_PER_RUN" --warmup 1 \
    >"$WORK/$scenario-calm.json" || true
  echo "flood of $scenario: 20,000 callers on 100 connections, and a Health/Check probe" >&2
  rss_kib "$SERVER_PID" >"$WORK/$scenario.rss-before"
  touch "$WORK/$scenario.rss.run"; sample_rss "$SERVER_PID" "$WORK/$scenario.rss" & sampler=$!
  load --scenario health --connections 1 --concurrency 1 --duration "$SECONDS_PER_RUN" --warmup 1 >"$WORK/$scenario-probe.json" &
  probe=$!
  load --scenario "$scenario" --users 1000 --connections 100 --concurrency 20000 --duration "$SECONDS_PER_RUN" --warmup 1 \
    >"$WORK/$scenario-flood.json" || true
  wait "$probe" || true
  rm -f "$WORK/$scenario.rss.run"; wait "$sampler" || true
  sleep 5
  rss_kib "$SERVER_PID" >"$WORK/$scenario.rss-after"
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import json, sys, datetime
work, out, secs = sys.argv[1:4]
result = {"benchmark": "overload", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/overload.sh {secs}", "floods": []}
rows = []
def ok_rate(report):
    calls = sum(m["count"] for m in report["methods"].values())
    errors = sum(sum(m["errors"].values()) for m in report["methods"].values())
    return (calls - errors) / report["seconds"], calls - errors, errors
for scenario in ("order", "get-balance"):
    calm, flood, probe = (json.load(open(f"{work}/{scenario}-{part}.json")) for part in ("calm", "flood", "probe"))
    calm_rate, _, calm_errors = ok_rate(calm)
    flood_rate, accepted, refused = ok_rate(flood)
    reasons = {}
    for m in flood["methods"].values():
        for reason, count in m["errors"].items(): reasons[reason] = reasons.get(reason, 0) + count
    probe_p99 = max(m["latency_us"]["p99"] for m in probe["methods"].values())
    probe_errors = sum(sum(m["errors"].values()) for m in probe["methods"].values())
    mib = lambda name: int(open(f"{work}/{scenario}.{name}").read().strip() or 0) / 1024
    run = {"scenario": scenario, "unflooded_ok_per_s": calm_rate, "unflooded_errors": calm_errors,
           "flood_accepted": accepted, "flood_refused": refused, "flood_refusals": reasons, "flood_ok_per_s": flood_rate,
           "accepted_vs_unflooded": flood_rate / max(calm_rate, 1e-9), "probe_p99_ms": probe_p99 / 1000, "probe_errors": probe_errors,
           "rss_before_mib": mib("rss-before"), "rss_peak_mib": mib("rss"), "rss_after_mib": mib("rss-after")}
    result["floods"].append(run)
    rows.append(f"| {scenario} | {calm_rate:,.0f} | {flood_rate:,.0f} ({run['accepted_vs_unflooded']:.2f}×) | {accepted:,} / {refused:,} "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(reasons.items())) or '—'}) | {run['probe_p99_ms']:.1f} ms ({probe_errors} errors) | "
                f"{run['rss_before_mib']:.0f} / {run['rss_peak_mib']:.0f} / {run['rss_after_mib']:.0f} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Overload — `{result['command']}` — {result['date']}; 20,000 callers on 100 connections against the defaults", "",
      "| flood | unflooded OK/s (64 callers) | accepted OK/s in the flood (vs unflooded) | accepted / refused (by reason) | Health/Check p99 during the flood | RSS MiB before / peak / 5 s after |",
      "| --- | ---: | ---: | --- | ---: | --- |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
