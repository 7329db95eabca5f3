#!/usr/bin/env bash
# A longer fuzzing run of every libFuzzer target (scripts/fuzz.sh all SECONDS) and its figures:
# executions per target and in all, the corpus each grew to, and the result (a crash, leak,
# timeout or out-of-memory fails it). Writes benchmarks/results/<UTC date>-fuzz.{json,md}.
#
#   benchmarks/fuzz.sh [seconds per target, default 150]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-150}"
OUT="${BENCH_OUT:-benchmarks/results/$(date -u +%Y-%m-%dT%H%M%SZ)-fuzz}"
REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
status=0
FUZZ_REPORT="$REPORT" scripts/fuzz.sh all "$SECONDS_PER_TARGET" || status=$?
python3 - "$REPORT" "$OUT" "benchmarks/fuzz.sh $SECONDS_PER_TARGET" <<'PY'
import json, sys, datetime
report, out, command = sys.argv[1:4]
runs = [json.loads(line) for line in open(report) if line.strip()]
total = sum(r["executions"] for r in runs)
result = {"benchmark": "fuzz", "date": datetime.datetime.utcnow().isoformat() + "Z", "command": command,
          "targets": runs, "executions": total, "failed": [r["target"] for r in runs if r["result"] != "ok"]}
json.dump(result, open(out + ".json", "w"), indent=2)
md = [f"Fuzzing — `{command}` — {result['date']}; libFuzzer, `-sanitize=fuzzer,address`, release", "",
      "| target | seconds | executions | per second | corpus | result |", "| --- | ---: | ---: | ---: | ---: | --- |"]
md += [f"| {r['target']} | {r['seconds']} | {r['executions']:,} | {r['executions'] / max(1, r['seconds']):,.0f} | {r['corpus']:,} | {r['result']} |" for r in runs]
md += [f"| all | {sum(r['seconds'] for r in runs)} | {total:,} | | | {'ok' if not result['failed'] else 'failed: ' + ', '.join(result['failed'])} |"]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
exit "$status"
