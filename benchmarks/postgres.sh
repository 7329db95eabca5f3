#!/usr/bin/env bash
# PostgreSQL store benchmark, in one invocation on one PostgreSQL (synchronous_commit on, fsync on,
# started by scripts/postgres.sh in the benchmark's folder):
#   for orders of one product (every buyer races for one row) and orders spread over 20 products:
#   1. the naive baseline: pgbench, 64 clients, one transaction per order with the store's own
#      statements (baselines/pg_order_naive.sql), on the migrated schema;
#   2. durable PlaceOrder through 1, 2 and 3 commerce-server instances on one database, 64 callers
#      in all (commerce-load's `order` scenario with --products, split evenly; its invariant check
#      runs per load generator, through the API and AdminService/Audit);
#   3. GetBalance at 64 callers on PostgreSQL against the same on SQLite.
# Each order run also reports where the machine's CPU went over its measured seconds (PostgreSQL's
# processes, the servers, the rest — mostly the load generators — and idle), to say what limits it.
# Writes benchmarks/results/<UTC date>-postgres.{json,md}.
#
#   benchmarks/postgres.sh [seconds per run, default 10]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-10}"
bench_setup postgres postgresql postgresql-contrib
PG_PORT=${PG_PORT:-56432}
# Outside the repository's results folder: as root the cluster belongs to the postgres user, which
# must reach its folder (the results folder is private to root).
PG_DIR=$(mktemp -d /tmp/commerce-bench-pg.XXXXXX)
PG_URL=$(scripts/postgres.sh start "$PG_DIR" "$PG_PORT")
trap 'stop_all; scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"; bench_cleanup' EXIT
PSQL=(psql -q -v ON_ERROR_STOP=1)
PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)
db_url() { echo "${PG_URL%/*}/$1"; }
fresh_db() { "${PSQL[@]}" "$PG_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }


SERVERS=()
start_instance() {  # database-url: one more server; appends its port to PORTS
  local n=${#SERVERS[@]}
  rm -f "$WORK/port-$n.json"
  "$BIN/commerce-server" serve --db "$1" --port 0 --metrics-port=-1 --port-file "$WORK/port-$n.json" \
    --admin-token bench --log-level warning --events-file "$WORK/events-$n.jsonl" >>"$WORK/server-$n.log" 2>&1 &
  SERVERS+=($!)
  for _ in $(seq 600); do [[ -s "$WORK/port-$n.json" ]] && break; sleep 0.05; done
  PORTS+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port-$n.json")")
}
stop_all() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  SERVERS=(); PORTS=()
}

# Two workloads, each against its own naive baseline: every order for one product (the flash
# sale's shape: one row every buyer races for) and orders spread over 20 products.
for products in 1 20; do
  echo "baseline: pgbench, 64 clients, one transaction per order, $products product(s)" >&2
  fresh_db naive
  "$BIN/commerce-server" migrate --db "$(db_url naive)" >/dev/null
  "${PSQL[@]}" "$(db_url naive)" -v products="$products" <<'SQL'
INSERT INTO users (name, balance, created_at) SELECT 'u' || g, 1000000000, 1 FROM generate_series(1, 1000) g;
INSERT INTO products (name, price, stock, initial_stock, created_at) SELECT 'p' || g, 1000, 1000000000, 1000000000, 1 FROM generate_series(1, :products) g;
SQL
  "$PGBENCH" -n -M prepared -c 64 -j 2 -T "$SECONDS_PER_RUN" -D products="$products" -f benchmarks/baselines/pg_order_naive.sql \
    "$(db_url naive)" >"$WORK/pgbench-$products.txt" 2>&1
  grep -E "tps|latency average|failed" "$WORK/pgbench-$products.txt" >&2

  for instances in 1 2 3; do
    echo "commerce PlaceOrder through $instances instance(s), 64 callers in all, $products product(s)" >&2
    fresh_db "inst$instances"
    "$BIN/commerce-server" migrate --db "$(db_url inst$instances)" >/dev/null
    PORTS=()
    for _ in $(seq "$instances"); do start_instance "$(db_url inst$instances)"; done
    pids=()
    for i in $(seq 0 $((instances - 1))); do
      "$BIN/commerce-load" --port "${PORTS[$i]}" --admin-token bench --json --quiet --scenario order --products "$products" \
        --concurrency $((64 / instances)) --connections 2 --users 500 --duration "$SECONDS_PER_RUN" --warmup 2 \
        >"$WORK/order-$products-$instances-$i.json" &
      pids+=($!)
    done
    # CPU over the measured seconds (after the load generators' set-up and warm-up).
    sleep 4
    read -r pg0 sv0 all0 idle0 <<<"$(ticks_of postgres) $(ticks_of commerce-server) $(machine_ticks) $(machine_idle)"
    sleep $((SECONDS_PER_RUN - 2))
    read -r pg1 sv1 all1 idle1 <<<"$(ticks_of postgres) $(ticks_of commerce-server) $(machine_ticks) $(machine_idle)"
    echo "{\"postgres\": $((pg1 - pg0)), \"servers\": $((sv1 - sv0)), \"machine\": $((all1 - all0)), \"idle\": $((idle1 - idle0))}" \
      >"$WORK/cpu-$products-$instances.json"
    for pid in "${pids[@]}"; do wait "$pid"; done
    stop_all
  done
done

echo "GetBalance, 64 callers: PostgreSQL, then SQLite" >&2
fresh_db reads
PORTS=(); start_instance "$(db_url reads)"
"$BIN/commerce-load" --port "${PORTS[0]}" --admin-token bench --json --quiet --scenario get-balance --concurrency 64 --connections 4 \
  --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/balance-postgres.json"
stop_all
start_server reads
load --scenario get-balance --concurrency 64 --connections 4 --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/balance-sqlite.json"
stop_server

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" <<'PY'
import json, re, sys, datetime, glob
work, out, secs = sys.argv[1], sys.argv[2], sys.argv[3]
workloads = []
for products in (1, 20):
    text = open(f"{work}/pgbench-{products}.txt").read()
    naive = float(re.search(r"tps = ([0-9.]+)", text).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", text)
    runs = []
    for n in (1, 2, 3):
        reports = [json.load(open(p)) for p in sorted(glob.glob(f"{work}/order-{products}-{n}-*.json"))]
        rate = sum(r["rate_per_s"] for r in reports)
        errors = sum(sum(r["methods"]["PlaceOrder"]["errors"].values()) for r in reports)
        p99 = max(r["methods"]["PlaceOrder"]["latency_us"]["p99"] for r in reports)
        invariants = "hold" if all(r["invariants"] == "hold" for r in reports) else "BROKEN"
        cpu = json.load(open(f"{work}/cpu-{products}-{n}.json"))
        share = lambda ticks: round(100 * ticks / max(1, cpu["machine"]))
        runs.append({"instances": n, "orders_per_s": rate, "p99_us": p99, "errors": errors, "invariants": invariants, "ratio": rate / naive,
                     "cpu_percent": {"postgres": share(cpu["postgres"]), "servers": share(cpu["servers"]), "idle": share(cpu["idle"]),
                                     "other": max(0, 100 - share(cpu["postgres"]) - share(cpu["servers"]) - share(cpu["idle"]))}})
    workloads.append({"products": products, "naive_orders_per_s": naive, "naive_failed": int(failed.group(1)) if failed else None, "runs": runs})
bp, bs = json.load(open(f"{work}/balance-postgres.json")), json.load(open(f"{work}/balance-sqlite.json"))
down = lambda ratio: f"{int(ratio * 100) / 100:.2f}"
result = {"benchmark": "postgres", "date": datetime.datetime.utcnow().isoformat() + "Z", "command": f"benchmarks/postgres.sh {secs}",
          "workloads": workloads,
          "get_balance_postgres_per_s": bp["rate_per_s"], "get_balance_sqlite_per_s": bs["rate_per_s"],
          "get_balance_postgres_p99_us": bp["methods"]["GetBalance"]["latency_us"]["p99"],
          "get_balance_sqlite_p99_us": bs["methods"]["GetBalance"]["latency_us"]["p99"]}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"PostgreSQL store — `{result['command']}` — {result['date']} — one PostgreSQL (synchronous_commit on) on this machine's 2 cores", ""]
for w in workloads:
    md += [f"Orders of one unit of {'one product' if w['products'] == 1 else str(w['products']) + ' products'}: naive baseline (pgbench, 64 clients, "
           f"one transaction per order, the store's statements) **{w['naive_orders_per_s']:,.0f} orders/s**", "",
           "| instances | commerce PlaceOrder, 64 callers in all | p99 µs | errors | invariants | vs naive | CPU: PostgreSQL / servers / load generators / idle |",
           "| ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for r in w["runs"]:
        c = r["cpu_percent"]
        md.append(f"| {r['instances']} | {r['orders_per_s']:,.0f} | {r['p99_us']:,.0f} | {r['errors']} | {r['invariants']} | {down(r['ratio'])}× "
                  f"| {c['postgres']} % / {c['servers']} % / {c['other']} % / {c['idle']} % |")
    md.append("")
md += [f"GetBalance, 64 callers: PostgreSQL {bp['rate_per_s']:,.0f}/s (p99 {result['get_balance_postgres_p99_us']:,.0f} µs) against "
       f"SQLite {bs['rate_per_s']:,.0f}/s (p99 {result['get_balance_sqlite_p99_us']:,.0f} µs): {down(bp['rate_per_s'] / bs['rate_per_s'])}×."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
