# Shared by the benchmark scripts: set-up, a release server on a fresh database, Redis, and where
# results go. Source it; do not run it.
#
# BENCH_OUT (set by run-all.sh): write this benchmark's JSON/Markdown there instead of
# benchmarks/results/<UTC date>-<name>.{json,md}.
# BENCH_BIN: a directory holding commerce-server and commerce-load to run instead of building them
# (two builds compared in alternating rounds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench_setup() {  # name [extra Debian packages...]
  BENCH_NAME="$1"; shift
  scripts/install-deps.sh "$@"
  if [[ -n "${BENCH_BIN:-}" ]]; then
    BIN="$BENCH_BIN"  # another build's commerce-server and commerce-load, for A/B runs (benchmarks/ab/)
  else
    swift build -c release --product commerce-server >&2
    swift build -c release --product commerce-load >&2
    BIN="$(swift build -c release --show-bin-path)"
  fi
  mkdir -p benchmarks/results
  WORK="$(mktemp -d -p "$PWD/benchmarks/results" tmp.XXXXXX)"   # the repository's disk
  OUT="${BENCH_OUT:-benchmarks/results/$(date -u +%Y-%m-%dT%H%M%SZ)-$BENCH_NAME}"
  trap bench_cleanup EXIT
  auth_setup "$BIN" "$WORK"
}

# Servers verify tokens, as deployed: a key set, and a service token for the load generator, both
# through the environment (commerce-server reads COMMERCE_AUTH_KEYS, commerce-load COMMERCE_TOKEN).
auth_setup() {  # bin-dir work-dir
  "$1/commerce-server" keys add --file "$2/auth-keys.json" >/dev/null
  export COMMERCE_AUTH_KEYS="$2/auth-keys.json"
  COMMERCE_TOKEN=$("$1/commerce-server" token --keys "$2/auth-keys.json" --service bench --ttl 1d)
  export COMMERCE_TOKEN
}

bench_cleanup() {
  stop_server
  if [[ -n "${REDIS_PID:-}" ]]; then kill "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# CPU time (clock ticks) of every process named $1, and of the whole machine: where the cores go.
ticks_of() { local total=0; for pid in $(pgrep -x "$1"); do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo "$total"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
machine_idle() { awk '/^cpu / {print $5 + $6}' /proc/stat; }
machine_steal() { awk '/^cpu / {print $9}' /proc/stat; }  # ticks the hypervisor gave to other guests
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }  # pid: resident set, KiB

sample_rss() {  # pid file: writes the peak RSS to file while the pid lives and "file.run" exists
  local peak=0 now
  while [[ -e "$2.run" ]] && now=$(rss_kib "$1" 2>/dev/null); do (( now > peak )) && peak=$now; echo "$peak" >"$2"; sleep 0.1; done
}

start_server() {  # database-name [serve options...]; sets SERVER_PID, PORT
  local name="$1"; shift
  rm -f "$WORK/port.json"
  "$BIN/commerce-server" serve --db "$WORK/$name.sqlite" --port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
    --admin-token bench --log-level warning --events-file "$WORK/$name-events.jsonl" "$@" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; kill -0 "$SERVER_PID"; sleep 0.05; done
  PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")
}

start_postgres() {  # port: a throwaway PostgreSQL (scripts/postgres.sh), stopped at exit; sets PG_DIR, PG_URL
  PG_DIR=$(mktemp -d /tmp/commerce-bench-pg.XXXXXX)   # the postgres user must reach it (see postgres.sh)
  PG_URL=$(scripts/postgres.sh start "$PG_DIR" "$1")
  trap 'stop_server; scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"; bench_cleanup' EXIT
}

stop_server() {
  if [[ -n "${SERVER_PID:-}" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}

start_redis() {  # sets REDIS_PORT, REDIS_PID: no persistence, like a cache
  REDIS_PORT=16379
  redis-server --port "$REDIS_PORT" --save "" --appendonly no --daemonize no --maxclients 10000 >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do
    kill -0 "$REDIS_PID" 2>/dev/null || { echo "redis-server exited (port $REDIS_PORT in use?): $(tail -1 "$WORK/redis.log")" >&2; exit 1; }
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "redis-server did not start" >&2; exit 1
}

load() {  # commerce-load options...: against the running server, JSON report on stdout
  "$BIN/commerce-load" --port "$PORT" --admin-token bench --json --quiet "$@"
}

# A/B runs of builds (benchmarks/ab/): the builds in the order of round $1 (the given order on odd
# rounds, reversed on even ones), one per line.
ab_order() { local round=$1; shift; if (( round % 2 )); then printf '%s\n' "$@"; else printf '%s\n' "$@" | tac; fi; }

# Prints, per build, the median of every number in runs lines of the form
# "round N BUILD: <number> <unit>, ... <number> <unit>" (the units are taken from the first line).
ab_medians() {  # runs-file
  python3 - "$1" <<'PY'
import re, statistics, sys
runs, units = {}, None
for line in open(sys.argv[1]):
    head, _, rest = line.partition(": ")
    build = head.split()[-1]
    numbers = [float(n) for n in re.findall(r"(-?[0-9][0-9.]*)", rest)]
    units = units or re.sub(r"-?[0-9][0-9.]*", "{}", rest.strip())
    runs.setdefault(build, []).append(numbers)
for build, rows in runs.items():
    medians = [statistics.median(column) for column in zip(*rows)]
    print(f"median {build}: " + units.format(*(f"{m:,.1f}" for m in medians)) + f" ({len(rows)} runs)")
PY
}
