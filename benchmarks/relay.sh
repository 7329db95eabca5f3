#!/usr/bin/env bash
# The data-platform relay under the durable order load: commerce-load's `order` scenario (64
# callers, synchronous=FULL) while the relay POSTs every event to a local receiver
# (baselines/event_receiver.py), with one event per POST (--events-per-post 1, the default)
# against batches (--events-per-post 100), in RELAY_ROUNDS (default 2) alternating rounds. Reports
# the events committed and delivered per second over the load, the backlog when it ends, and how
# long the relay then takes to deliver it. Writes benchmarks/results/<UTC date>-relay.{json,md}.
#
#   benchmarks/relay.sh [seconds of order load per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup relay
ROUNDS="${RELAY_ROUNDS:-2}"
for round in $(seq "$ROUNDS"); do
  for per_post in 1 100; do
    run="$per_post-$round"
    echo "round $round/$ROUNDS — --events-per-post $per_post" >&2
    rm -f "$WORK/receiver.port" "$WORK/counts-$run.json"
    python3 benchmarks/baselines/event_receiver.py "$WORK/receiver.port" "$WORK/counts-$run.json" &
    RECEIVER_PID=$!
    for _ in $(seq 100); do [[ -s "$WORK/receiver.port" ]] && break; sleep 0.05; done
    start_server "relay-$run" --synchronous full \
      --data-platform-url "http://127.0.0.1:$(cat "$WORK/receiver.port")/events" --events-per-post "$per_post"
    start=$(date +%s.%N)
    load --scenario order --concurrency 64 --connections 4 --users 1000 --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/load-$run.json"
    end=$(date +%s.%N)
    kill -USR1 "$RECEIVER_PID"
    sleep 0.2
    committed=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM outbox').fetchone()[0])" "$WORK/relay-$run.sqlite")
    cp "$WORK/counts-$run.json" "$WORK/at-end-$run.json"
    # Then the relay catches up (or is given up on after 120 s).
    drained=""
    for tick in $(seq 1200); do
      kill -USR1 "$RECEIVER_PID"; sleep 0.1
      if python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['events'] >= int(sys.argv[2]) else 1)" \
        "$WORK/counts-$run.json" "$committed" 2>/dev/null; then drained=$tick; break; fi
    done
    drain_end=$(date +%s.%N)
    echo "{\"per_post\": $per_post, \"round\": $round, \"load_seconds\": $(python3 -c "print($end - $start)"), \"committed\": $committed, \
\"drain_seconds\": $( [[ -n $drained ]] && python3 -c "print($drain_end - $end)" || echo null )}" >"$WORK/run-$run.json"
    stop_server
    kill "$RECEIVER_PID"; wait "$RECEIVER_PID" 2>/dev/null || true
    rm -f "$WORK"/relay-"$run".sqlite*
  done
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "$ROUNDS" <<'PY'
import json, sys, datetime, platform, os
work, out, secs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = []
for r in range(1, rounds + 1):
    for per_post in (1, 100):
        run = f"{per_post}-{r}"
        info, at_end = json.load(open(f"{work}/run-{run}.json")), json.load(open(f"{work}/at-end-{run}.json"))
        load = json.load(open(f"{work}/load-{run}.json"))
        seconds = info["load_seconds"]
        rows.append({"round": r, "events_per_post": per_post, "orders_per_s": load["rate_per_s"],
                     "invariants": load["invariants"], "committed_per_s": info["committed"] / seconds,
                     "delivered_per_s": at_end["events"] / seconds, "requests_per_s": at_end["requests"] / seconds,
                     "backlog_at_end": info["committed"] - at_end["events"], "drain_seconds": info["drain_seconds"]})
doc = {"benchmark": "relay", "date": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
       "machine": {"cpus": str(os.cpu_count()), "kernel": platform.release()},
       "command": f"benchmarks/relay.sh {secs}", "rounds": rows}
json.dump(doc, open(out + ".json", "w"), indent=2)
lines = [f"Data-platform relay under the order load — `benchmarks/relay.sh {secs}` — {doc['date']} — {rounds} rounds, the two settings taking turns", "",
         "| round | --events-per-post | orders/s (load) | events committed/s | delivered/s | POSTs/s | backlog at the end | then drained in | invariants |",
         "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for row in rows:
    drain = "not in 120 s" if row["drain_seconds"] is None else f"{row['drain_seconds']:.1f} s"
    lines.append(f"| {row['round']} | {row['events_per_post']} | {row['orders_per_s']:,.0f} | {row['committed_per_s']:,.0f} | {row['delivered_per_s']:,.0f} | "
                 f"{row['requests_per_s']:,.0f} | {row['backlog_at_end']:,} | {drain} | {row['invariants']} |")
lines += ["", "Committed and delivered rates are over the whole load, warm-up included; the receiver is a single-threaded Python asyncio server on the same machine."]
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"wrote {out}.json and {out}.md")
PY
