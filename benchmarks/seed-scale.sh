#!/usr/bin/env bash
# `commerce-server seed --scale` on both stores, in one invocation: the same plan seeded into a
# fresh SQLite file and into a fresh database on a PostgreSQL started here (scripts/postgres.sh),
# each timed, then audited (`commerce-server audit`, timed), with its bytes on disk per order.
# Writes benchmarks/results/<UTC date>-seed-scale.{json,md}.
#
#   benchmarks/seed-scale.sh [scale, default 0.1: 100 k users, 10 k products, 1 M orders]
source "$(dirname "$0")/lib.sh"
SCALE="${1:-0.1}"
bench_setup seed-scale postgresql postgresql-contrib
PG_PORT=${PG_PORT:-56433}
start_postgres "$PG_PORT"
psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE seed_scale"
PG_DB="${PG_URL%/*}/seed_scale"

seconds() { python3 -c "import time,sys; print(time.time())"; }
run_timed() {  # name command...
  local name=$1; shift
  local start end; start=$(seconds)
  "$@" >&2
  end=$(seconds)
  python3 -c "print($end - $start)" >"$WORK/$name.seconds"
}

echo "SQLite: seed --scale $SCALE" >&2
run_timed sqlite-seed "$BIN/commerce-server" seed --db "$WORK/scale.sqlite" --scale "$SCALE"
sync
run_timed sqlite-audit "$BIN/commerce-server" audit --db "$WORK/scale.sqlite"
du -b "$WORK/scale.sqlite" | cut -f1 >"$WORK/sqlite.bytes"

echo "PostgreSQL: seed --scale $SCALE" >&2
run_timed postgres-seed "$BIN/commerce-server" seed --db "$PG_DB" --scale "$SCALE"
run_timed postgres-audit "$BIN/commerce-server" audit --db "$PG_DB"
psql -qtA "$PG_DB" -c "SELECT pg_database_size(current_database())" >"$WORK/postgres.bytes"

python3 - "$WORK" "$OUT" "$SCALE" <<'PY'
import json, sys, datetime
work, out, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
orders = max(1, int(10_000_000 * scale))
read = lambda name: float(open(f"{work}/{name}").read().strip())
stores = {}
for store in ("sqlite", "postgres"):
    stores[store] = {"seed_seconds": read(f"{store}-seed.seconds"), "audit_seconds": read(f"{store}-audit.seconds"),
                     "bytes_per_order": read(f"{store}.bytes") / orders}
result = {"benchmark": "seed-scale", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "command": f"benchmarks/seed-scale.sh {sys.argv[3]}", "orders": orders, "stores": stores}
json.dump(result, open(out + ".json", "w"), indent=2)
s, p = stores["sqlite"], stores["postgres"]
md = [f"seed --scale {sys.argv[3]} ({orders:,} orders) on both stores — `{result['command']}` — {result['date']}", "",
      "| store | seed s | audit s | bytes on disk per order |", "| --- | ---: | ---: | ---: |",
      f"| SQLite | {s['seed_seconds']:.1f} | {s['audit_seconds']:.1f} | {s['bytes_per_order']:.0f} |",
      f"| PostgreSQL | {p['seed_seconds']:.1f} ({p['seed_seconds'] / s['seed_seconds']:.2f}×) | {p['audit_seconds']:.1f} ({p['audit_seconds'] / s['audit_seconds']:.2f}×) | {p['bytes_per_order']:.0f} |"]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
