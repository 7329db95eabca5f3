#!/usr/bin/env bash
# The group commit thread against SQLite's floor: the CPU the server's commit thread spends per
# order (`commit_cpu_us_per_write`, from its shutdown log, under commerce-load's `order` scenario at
# 64 callers, synchronous=FULL) against the same order's statements in plain C on the same schema,
# batched as the server batches them (baselines/order_commit_floor.c), in ROUNDS (default 3)
# alternating rounds. The ratio is what the commit thread costs beyond SQLite itself: Swift, GRDB,
# building the event, handing results over. Writes benchmarks/results/<UTC date>-commit-floor.{json,md}.
#
#   benchmarks/commit-floor.sh [seconds of order load per round, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup commit-floor
cc -O2 -Wall -Werror -o "$WORK/order_commit_floor" benchmarks/baselines/order_commit_floor.c -lsqlite3
# The floor runs on the server's own schema, as its migrations make it.
"$BIN/commerce-server" migrate --db "$WORK/schema.sqlite" >/dev/null
python3 benchmarks/baselines/dump_schema.py "$WORK/schema.sqlite" >"$WORK/schema.sql"
ROUNDS="${COMMIT_FLOOR_ROUNDS:-3}"
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS — floor: the order's statements in C, 24 per transaction" >&2
  "$WORK/order_commit_floor" "$WORK/schema.sql" "$WORK/floor-$round.sqlite" 48000 24 >"$WORK/floor-$round.json"
  echo "round $round/$ROUNDS — commerce PlaceOrder, 64 callers" >&2
  start_server "bench-$round" --synchronous full --log-level notice
  load --scenario order --concurrency 64 --connections 4 --users 1000 --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/ours-$round.json"
  stop_server
  grep -o 'commit_cpu_us_per_write=[0-9]* commit_wall_us_per_write=[0-9]*.*writes_per_transaction=[0-9.]*' "$WORK/server.log" | tail -1 \
    >"$WORK/commit-$round.txt"
  rm -f "$WORK"/bench-"$round".sqlite*
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "$ROUNDS" <<'PY'
import json, re, statistics, sys, datetime
work, out, secs, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rounds = []
for r in range(1, count + 1):
    floor, ours = json.load(open(f"{work}/floor-{r}.json")), json.load(open(f"{work}/ours-{r}.json"))
    log = dict(re.findall(r"(\w+)=([0-9.]+)", open(f"{work}/commit-{r}.txt").read()))
    rounds.append({"floor_cpu_us": floor["cpu_us_per_order"], "floor_commit_cpu_us": floor["commit_cpu_us_per_order"],
                   "server_commit_cpu_us": float(log["commit_cpu_us_per_write"]),
                   "server_commit_wall_us": float(log["commit_wall_us_per_write"]),
                   "writes_per_transaction": float(log["writes_per_transaction"]),
                   "orders_per_s": ours["rate_per_s"], "invariants": ours["invariants"],
                   "ratio": float(log["commit_cpu_us_per_write"]) / floor["cpu_us_per_order"]})
median = lambda key: statistics.median(r[key] for r in rounds)
result = {"benchmark": "commit-floor", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/commit-floor.sh {secs}", "rounds": rounds,
          **{key: median(key) for key in ("floor_cpu_us", "floor_commit_cpu_us", "server_commit_cpu_us", "server_commit_wall_us",
                                          "writes_per_transaction", "orders_per_s", "ratio")},
          "invariants": "hold" if all(r["invariants"] == "hold" for r in rounds) else "BROKEN"}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Commit thread against SQLite's floor — `{result['command']}` — {result['date']} — {count} rounds", "",
      "| round | floor: C, CPU µs/order (commit) | server commit thread, CPU µs/order | its wall µs/order | orders per commit | orders/s | invariants | ratio |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
for i, r in enumerate(rounds, 1):
    md.append(f"| {i} | {r['floor_cpu_us']:.1f} ({r['floor_commit_cpu_us']:.1f}) | {r['server_commit_cpu_us']:.0f} | {r['server_commit_wall_us']:.0f} | "
              f"{r['writes_per_transaction']:.1f} | {r['orders_per_s']:,.0f} | {r['invariants']} | {r['ratio']:.2f}× |")
md += [f"| median | {result['floor_cpu_us']:.1f} ({result['floor_commit_cpu_us']:.1f}) | {result['server_commit_cpu_us']:.0f} | "
       f"{result['server_commit_wall_us']:.0f} | {result['writes_per_transaction']:.1f} | {result['orders_per_s']:,.0f} | {result['invariants']} | "
       f"**{result['ratio']:.2f}×** |",
       "", f"The commit thread spends **{result['ratio']:.2f}×** the CPU that SQLite alone needs for the same statements (median of the rounds)."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
