#!/usr/bin/env bash
# Floods at ten times what the server admits, and what stays up: a release server at its defaults
# (--max-calls-in-flight 8192, --max-queued-writes 10000, synchronous=FULL) gets 20,000 callers on
# 100 connections, first of PlaceOrder, then of GetBalance. A Health/Check probe on a connection of
# its own calls 200 times a second (open loop: latency from each call's scheduled start, so a stall
# counts for every call it delays; a closed-loop probe records one slow call per stall and thousands
# of fast ones, and its own thousands of calls a second load the server), in the unflooded phase and
# in the flood alike, at a higher priority than the load generators (as root), standing for a
# monitor with a CPU of its own. Reported per flood: calls accepted and refused (OVERLOADED and the
# rest), the accepted calls' rate against the same method's unflooded rate (64 callers, the mean of
# a run just before and one after), the probe's p99 in both phases, and the server's RSS before, at its peak and 5 s
# after the flood, and where the two cores went in each phase (server, load generators, idle, and
# what the hypervisor gave other guests: /proc/stat's steal), so
# the accepted calls' rate can be read against the server's share of the machine.
#
#   benchmarks/overload.sh [seconds per flood, default 10]
#   OVERLOAD_SERVER_ARGS="--max-calls-in-flight 2048" benchmarks/overload.sh   # other limits than the defaults
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup overload
# The server on core 0, every load generator on core 1 (OVERLOAD_PIN=0: no pinning): 20,000 callers
# cost their generator far more CPU than 64 do, and on shared cores that CPU would come out of the
# server's share, so the flood's rate would measure the client as much as the server.
PIN=${OVERLOAD_PIN:-1}
CORES=$(nproc)
if ((PIN == 1 && CORES < 2)); then echo "one core: running unpinned" >&2; PIN=0; fi
load() {
  if ((PIN == 1)); then taskset -c 1 "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet "$@"
  else "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet "$@"; fi
}
# The probe: 200 Health/Check a second on one connection, ahead of the load generators (as root).
PROBE_NICE=0
if [[ $(id -u) == 0 ]]; then PROBE_NICE=-10; fi
probe() {
  local pin=(); if ((PIN == 1)); then pin=(taskset -c 1); fi
  nice -n "$PROBE_NICE" "${pin[@]}" "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet \
    --scenario health --connections 1 --concurrency 4 --rate 200 --duration "$SECONDS_PER_RUN" --warmup 1
}

# Ticks of the server, the load generators and the machine over the measured middle of a run.
cpu_split() {  # file
  sleep 3
  read -r s0 l0 a0 i0 t0 <<<"$(ticks_of commerce-server) $(ticks_of commerce-load) $(machine_ticks) $(machine_idle) $(machine_steal)"
  sleep $((SECONDS_PER_RUN - 3))
  read -r s1 l1 a1 i1 t1 <<<"$(ticks_of commerce-server) $(ticks_of commerce-load) $(machine_ticks) $(machine_idle) $(machine_steal)"
  echo "{\"server\": $((s1 - s0)), \"load\": $((l1 - l0)), \"machine\": $((a1 - a0)), \"idle\": $((i1 - i0)), \"steal\": $((t1 - t0)), \"seconds\": $((SECONDS_PER_RUN - 3))}" >"$1"
}

start_server overload --synchronous full ${OVERLOAD_SERVER_ARGS:-}
if ((PIN == 1)); then taskset -a -pc 0 "$SERVER_PID" >/dev/null; fi
# The unflooded rate is measured before and after each flood and the two averaged: on these shared
# machines one 10 s run's rate moved by up to a third from the next (session 26), and a baseline
# on both sides cancels a drift across the flood.
calm() {  # scenario, the run's name
  echo "unflooded $1 ($2), 64 callers, and the Health/Check probe" >&2
  probe >"$WORK/$2-probe.json" &
  probe=$!
  load --scenario "$1" --users 1000 --connections 8 --concurrency 64 --duration "$SECONDS_PER_RUN" --warmup 1 \
    >"$WORK/$2.json" &
  calm=$!
  cpu_split "$WORK/$2.cpu"
  wait "$calm" || true
  wait "$probe" || true
}
for scenario in order get-balance; do
  calm "$scenario" "$scenario-calm"
  echo "flood of $scenario: 20,000 callers on 100 connections, and a Health/Check probe" >&2
  rss_kib "$SERVER_PID" >"$WORK/$scenario.rss-before"
  touch "$WORK/$scenario.rss.run"; sample_rss "$SERVER_PID" "$WORK/$scenario.rss" & sampler=$!
  probe >"$WORK/$scenario-probe.json" &
  probe=$!
  load --scenario "$scenario" --users 1000 --connections 100 --concurrency 20000 --duration "$SECONDS_PER_RUN" --warmup 1 \
    >"$WORK/$scenario-flood.json" &
  flood=$!
  cpu_split "$WORK/$scenario-flood.cpu"
  wait "$flood" || true
  wait "$probe" || true
  rm -f "$WORK/$scenario.rss.run"; wait "$sampler" || true
  sleep 5
  rss_kib "$SERVER_PID" >"$WORK/$scenario.rss-after"
  calm "$scenario" "$scenario-calm-after"
done

PIN=$PIN python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import json, os, sys, datetime
work, out, secs = sys.argv[1:4]
result = {"benchmark": "overload", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": (f"OVERLOAD_SERVER_ARGS='{os.environ['OVERLOAD_SERVER_ARGS']}' " if os.environ.get("OVERLOAD_SERVER_ARGS") else "") + f"benchmarks/overload.sh {secs}", "floods": []}
rows = []
def ok_rate(report):
    calls = sum(m["count"] for m in report["methods"].values())
    errors = sum(sum(m["errors"].values()) for m in report["methods"].values())
    return (calls - errors) / report["seconds"], calls - errors, errors
for scenario in ("order", "get-balance"):
    calm, calm_after, flood, probe = (json.load(open(f"{work}/{scenario}-{part}.json")) for part in ("calm", "calm-after", "flood", "probe"))
    calm_before_rate, _, calm_errors = ok_rate(calm)
    calm_after_rate, _, calm_after_errors = ok_rate(calm_after)
    calm_rate = (calm_before_rate + calm_after_rate) / 2
    flood_rate, accepted, refused = ok_rate(flood)
    reasons = {}
    for m in flood["methods"].values():
        for reason, count in m["errors"].items(): reasons[reason] = reasons.get(reason, 0) + count
    probe_p99 = max(m["latency_us"]["p99"] for m in probe["methods"].values())
    probe_errors = sum(sum(m["errors"].values()) for m in probe["methods"].values())
    calm_probe = json.load(open(f"{work}/{scenario}-calm-probe.json"))
    calm_probe_p99 = max(m["latency_us"]["p99"] for m in calm_probe["methods"].values())
    mib = lambda name: int(open(f"{work}/{scenario}.{name}").read().strip() or 0) / 1024
    cpu = {phase: json.load(open(f"{work}/{scenario}-{phase}.cpu")) for phase in ("calm", "flood")}
    share = lambda phase, part: 100 * cpu[phase][part] / max(1, cpu[phase]["machine"])
    # Server CPU per OK call: clock ticks (100 a second) over the sampled seconds, at the phase's OK rate.
    per_call = lambda phase, rate: 1e6 * cpu[phase]["server"] / 100 / max(1e-9, rate * cpu[phase]["seconds"])
    run = {"scenario": scenario, "unflooded_ok_per_s": calm_rate, "unflooded_before_ok_per_s": calm_before_rate,
           "unflooded_after_ok_per_s": calm_after_rate, "unflooded_errors": calm_errors + calm_after_errors,
           "flood_accepted": accepted, "flood_refused": refused, "flood_refusals": reasons, "flood_ok_per_s": flood_rate,
           "accepted_vs_unflooded": flood_rate / max(calm_rate, 1e-9), "probe_p99_ms": probe_p99 / 1000, "probe_errors": probe_errors,
           "probe_unflooded_p99_ms": calm_probe_p99 / 1000, "probe_late": probe.get("open_loop", {}).get("started_late"),
           "rss_before_mib": mib("rss-before"), "rss_peak_mib": mib("rss"), "rss_after_mib": mib("rss-after"),
           "cpu_percent": {phase: {part: round(share(phase, part)) for part in ("server", "load", "idle", "steal")} for phase in ("calm", "flood")},
           "server_cpu_us_per_ok_call": {"calm": per_call("calm", calm_before_rate), "flood": per_call("flood", flood_rate)}}
    result["floods"].append(run)
    rows.append(f"| {scenario} | {calm_rate:,.0f} ({calm_before_rate:,.0f} / {calm_after_rate:,.0f}) | {flood_rate:,.0f} ({run['accepted_vs_unflooded']:.2f}×) | {accepted:,} / {refused:,} "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(reasons.items())) or '—'}) | {run['probe_unflooded_p99_ms']:.1f} → {run['probe_p99_ms']:.1f} ms ({probe_errors} errors) | "
                f"{run['rss_before_mib']:.0f} / {run['rss_peak_mib']:.0f} / {run['rss_after_mib']:.0f} | "
                f"{run['cpu_percent']['calm']['server']} / {run['cpu_percent']['calm']['load']} / {run['cpu_percent']['calm']['steal']} → {run['cpu_percent']['flood']['server']} / {run['cpu_percent']['flood']['load']} / {run['cpu_percent']['flood']['steal']} | "
                f"{run['server_cpu_us_per_ok_call']['calm']:.0f} → {run['server_cpu_us_per_ok_call']['flood']:.0f} |")
json.dump(result, open(out + ".json", "w"), indent=2)
args = os.environ.get("OVERLOAD_SERVER_ARGS", "")
result["server_args"] = args
result["pinned"] = os.environ.get("PIN") == "1"
md = [f"Overload — `{result['command']}` — {result['date']}; 20,000 callers on 100 connections against the defaults{' with ' + args if args else ''}; "
      + ("server on core 0, load generators on core 1" if result["pinned"] else "server and load generators sharing the cores"), "",
      "| flood | unflooded OK/s, 64 callers (before / after) | accepted OK/s in the flood (vs unflooded) | accepted / refused (by reason) | Health/Check p99 at 200/s open loop, unflooded → flood | RSS MiB before / peak / 5 s after | CPU % server / load generator / stolen by the host, unflooded → flood | server CPU µs per OK call, unflooded → flood |",
      "| --- | ---: | ---: | --- | ---: | --- | --- | --- |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
