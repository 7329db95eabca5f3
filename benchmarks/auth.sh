#!/usr/bin/env bash
# What identity and TLS cost: GetBalance at 1 and 64 callers against three servers, in one
# invocation, in alternating rounds:
#   off   --auth off, no token (the baseline)
#   user  auth on, every call with its own user's token (commerce-load --user-tokens)
#   tls   auth on with user tokens, over TLS (a test CA made here with openssl)
# Reports the median rate of each and the ratios user/off (target ≥ 0.9) and tls/user.
# Writes benchmarks/results/<UTC date>-auth.{json,md}.
#
#   benchmarks/auth.sh [seconds per run, default 8] [rounds, default 3]
source "$(dirname "$0")/lib.sh"
SECONDS_PER_RUN="${1:-8}"
ROUNDS="${2:-3}"
bench_setup auth
PKI="$WORK/pki"
mkdir -p "$PKI"
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${EC[@]}" -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 2 -subj "/CN=bench CA" 2>/dev/null
openssl req "${EC[@]}" -keyout "$PKI/server.key" -out "$PKI/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$PKI/server.ext"
openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -out "$PKI/server.pem" \
  -days 2 -extfile "$PKI/server.ext" 2>/dev/null

run_config() {  # config callers round
  local config=$1 callers=$2 round=$3 connections=$(( $2 == 1 ? 1 : 4 ))
  case $config in
    off) start_server "auth-$config" --auth off; set -- ;;
    user) start_server "auth-$config"; set -- --user-tokens "$COMMERCE_AUTH_KEYS" ;;
    tls) start_server "auth-$config" --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key"
         set -- --user-tokens "$COMMERCE_AUTH_KEYS" --tls-ca "$PKI/ca.pem" ;;
  esac
  echo "round $round: $config, $callers caller(s)" >&2
  load --scenario get-balance --concurrency "$callers" --connections "$connections" \
    --duration "$SECONDS_PER_RUN" --warmup 2 "$@" >"$WORK/$config-$callers-$round.json"
  stop_server
}

CONFIGS=(off user tls)
for round in $(seq "$ROUNDS"); do
  # Rotate the order each round: no configuration always runs first (or last) on a drifting machine.
  for i in 0 1 2; do
    config=${CONFIGS[$(( (i + round) % 3 ))]}
    for callers in 1 64; do run_config "$config" "$callers" "$round"; done
  done
done

python3 - "$WORK" "$OUT" "$SECONDS_PER_RUN" "$ROUNDS" <<'PY'
import json, platform, statistics, subprocess, sys, datetime
work, out, secs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
result = {"benchmark": "auth", "date": datetime.datetime.utcnow().isoformat() + "Z",
          "machine": {"cpus": subprocess.check_output(["nproc"]).decode().strip(), "kernel": platform.release()},
          "command": f"benchmarks/auth.sh {secs} {rounds}", "runs": [], "medians": {}}
rows = []
for callers in (1, 64):
    medians = {}
    for config in ("off", "user", "tls"):
        rates, p50s, errors = [], [], 0
        for r in range(1, rounds + 1):
            report = json.load(open(f"{work}/{config}-{callers}-{r}.json"))
            m = report["methods"]["GetBalance"]
            rates.append(report["rate_per_s"]); p50s.append(m["latency_us"]["p50"]); errors += sum(m["errors"].values())
            result["runs"].append({"config": config, "callers": callers, "round": r, "rate_per_s": report["rate_per_s"],
                                   "p50_us": m["latency_us"]["p50"], "p99_us": m["latency_us"]["p99"], "errors": sum(m["errors"].values())})
        medians[config] = {"rate_per_s": statistics.median(rates), "p50_us": statistics.median(p50s), "errors": errors,
                           "rates": rates}
    result["medians"][str(callers)] = medians
    user_off = medians["user"]["rate_per_s"] / medians["off"]["rate_per_s"]
    tls_user = medians["tls"]["rate_per_s"] / medians["user"]["rate_per_s"]
    result["medians"][str(callers)]["ratios"] = {"user_over_off": user_off, "tls_over_user": tls_user}
    rows.append(f"| {callers} | {medians['off']['rate_per_s']:,.0f} ({medians['off']['p50_us']:.0f} µs) | "
                f"{medians['user']['rate_per_s']:,.0f} ({medians['user']['p50_us']:.0f} µs) | "
                f"{medians['tls']['rate_per_s']:,.0f} ({medians['tls']['p50_us']:.0f} µs) | **{user_off:.2f}×** | **{tls_user:.2f}×** | "
                f"{medians['off']['errors'] + medians['user']['errors'] + medians['tls']['errors']} |")
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Identity and TLS cost — `{result['command']}` — {result['date']}", "",
      "Medians of alternating rounds; each run GetBalance over 100 users (1 connection for 1 caller, 4 for 64).", "",
      "| callers | auth off req/s (p50) | user tokens req/s (p50) | user tokens + TLS req/s (p50) | user / off | TLS / no TLS | errors |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "wrote $OUT.json and $OUT.md" >&2
