#!/usr/bin/env bash
# Transport floor for the 1-caller target: in alternating rounds, one caller at a time against
#   redis-benchmark -> redis-server      (the issue's baseline)
#   NIO floor client -> NIO floor server (bare SwiftNIO: benchmarks/baselines/nio-floor)
#   redis-benchmark -> NIO floor server, NIO floor client -> redis-server (each side alone)
#   NIO FrameRPC client -> commerce-server, commerce-load -> NIO FrameRPC server (Health/Check:
#     commerce's server alone, its client alone)
#   commerce-load Health/Check -> commerce-server (the RPC stack on both sides, no storage)
#   commerce-load GetBalance -> commerce-server
# and the ratio of each to Redis in the same round. It tells how much of the gap to Redis at one
# caller is SwiftNIO's (the floor) and how much is this service's own work per call.
# Writes benchmarks/results/<UTC date>-transport-floor.{json,md}.
#
#   benchmarks/transport-floor.sh [seconds per run, default 5] [rounds, default 3]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-5}"
ROUNDS="${2:-3}"
bench_setup transport-floor redis-server redis-tools
swift build -c release --package-path benchmarks/baselines/nio-floor >&2
FLOOR="$(swift build -c release --package-path benchmarks/baselines/nio-floor --show-bin-path)/NIOFloor"
start_redis
redis-cli -p "$REDIS_PORT" set key:000000000000 xxx >/dev/null
start_server transport-floor
FLOOR_PORT=16380
"$FLOOR" serve "$FLOOR_PORT" >"$WORK/floor.log" 2>&1 &
FLOOR_PID=$!
FRPC_PORT=16381
"$FLOOR" frpc-serve "$FRPC_PORT" >"$WORK/frpc.log" 2>&1 &
FRPC_PID=$!
trap 'kill "$FLOOR_PID" "$FRPC_PID" 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 100); do redis-cli -p "$FLOOR_PORT" get key:000000000000 >/dev/null 2>&1 && break; sleep 0.05; done

redis_bench() {  # port -> GETs per second at 1 client, for about SECONDS_PER_RUN seconds
  local requests=$(( SECONDS_PER_RUN * ${REQUESTS_PER_SECOND_GUESS:-10000} ))
  redis-benchmark -p "$1" -t get -c 1 -n "$requests" -P 1 --csv 2>/dev/null | tail -1 | python3 -c "import csv,sys; print(list(csv.reader(sys.stdin))[0][1])"
}

for round in $(seq "$ROUNDS"); do
  echo "round $round" >&2
  echo "redis $(redis_bench "$REDIS_PORT")" >"$WORK/round-$round.txt"
  echo "floor $("$FLOOR" get "$FLOOR_PORT" "$SECONDS_PER_RUN")" >>"$WORK/round-$round.txt"
  echo "redis-bench-to-floor $(redis_bench "$FLOOR_PORT")" >>"$WORK/round-$round.txt"
  echo "floor-to-redis $("$FLOOR" get "$REDIS_PORT" "$SECONDS_PER_RUN")" >>"$WORK/round-$round.txt"
  echo "frpc-floor-to-commerce $("$FLOOR" frpc-call "$PORT" "$SECONDS_PER_RUN")" >>"$WORK/round-$round.txt"
  "$BIN/commerce-load" --port "$FRPC_PORT" --json --quiet --scenario health --concurrency 1 --connections 1 \
    --duration "$SECONDS_PER_RUN" --warmup 1 >"$WORK/client-$round.json"
  echo "commerce-client-to-frpc-floor $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rate_per_s'])" "$WORK/client-$round.json")" >>"$WORK/round-$round.txt"
  load --scenario health --concurrency 1 --connections 1 --duration "$SECONDS_PER_RUN" --warmup 1 >"$WORK/health-$round.json"
  echo "health $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rate_per_s'])" "$WORK/health-$round.json")" >>"$WORK/round-$round.txt"
  load --scenario get-balance --concurrency 1 --connections 1 --duration "$SECONDS_PER_RUN" --warmup 1 >"$WORK/ours-$round.json"
  echo "commerce $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rate_per_s'])" "$WORK/ours-$round.json")" >>"$WORK/round-$round.txt"
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "$ROUNDS" <<'PY'
import json, platform, statistics, subprocess, sys, datetime
work, out, secs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = [("redis", "redis-benchmark → redis-server"), ("floor", "NIO floor client → NIO floor server"),
         ("redis-bench-to-floor", "redis-benchmark → NIO floor server"), ("floor-to-redis", "NIO floor client → redis-server"),
         ("frpc-floor-to-commerce", "NIO FrameRPC client → commerce-server, Health/Check"),
         ("commerce-client-to-frpc-floor", "commerce-load Health/Check → NIO FrameRPC server"),
         ("health", "commerce-load Health/Check → commerce-server"), ("commerce", "commerce-load GetBalance → commerce-server")]
result = {"benchmark": "transport-floor", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "machine": {"cpus": subprocess.check_output(["nproc"]).decode().strip(), "kernel": platform.release()},
          "command": f"benchmarks/transport-floor.sh {secs} {rounds}", "rounds": []}
for r in range(1, rounds + 1):
    rates = {k: float(v) for k, v in (line.split() for line in open(f"{work}/round-{r}.txt"))}
    result["rounds"].append(rates)
ratio = lambda rates, key: rates[key] / rates["redis"]
md = [f"Transport floor at 1 caller — `{result['command']}` — {result['date']}", "",
      "Round trips per second, one caller, and the ratio to redis-benchmark → redis-server in the same round.", "",
      "| pair | " + " | ".join(f"round {r}" for r in range(1, rounds + 1)) + " | median ratio |",
      "| --- | " + " | ".join("---:" for _ in range(rounds)) + " | ---: |"]
result["median_ratio"] = {}
for key, label in names:
    cells = [f"{rates[key]:,.0f} ({ratio(rates, key):.2f}×)" for rates in result["rounds"]]
    median = statistics.median(ratio(rates, key) for rates in result["rounds"])
    result["median_ratio"][key] = median
    md.append(f"| {label} | " + " | ".join(cells) + f" | **{median:.2f}×** |")
json.dump(result, open(out + ".json", "w"), indent=2)
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
