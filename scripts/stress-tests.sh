#!/usr/bin/env bash
# Runs the whole Swift test suite several times in a row on a loaded machine: one busy loop per
# core (`yes > /dev/null`) runs for the whole time, so a test that leans on timing fails here
# rather than in CI on a busy day.
#
#   scripts/stress-tests.sh [runs, default 3]
#
# Builds first (not under load), then runs the built tests; exits non-zero at the first failed run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
swift build --build-tests >&2
BUSY=()
cleanup() { for pid in "${BUSY[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq "$(nproc)"); do yes > /dev/null & BUSY+=($!); done
for run in $(seq "$RUNS"); do
  echo "=== run $run of $RUNS, $(nproc) busy loops" >&2
  start=$(date +%s)
  if ! swift test --skip-build --no-parallel 2>&1 | tee "/tmp/stress-tests-$run.log" | grep -E "^(✘|✔ Test run|✘ Test run)"; then
    echo "run $run: could not read the results" >&2; exit 1
  fi
  if grep -q "✘ Test run" "/tmp/stress-tests-$run.log"; then echo "run $run failed (log: /tmp/stress-tests-$run.log)" >&2; exit 1; fi
  echo "run $run passed in $(( $(date +%s) - start )) s" >&2
done
echo "all $RUNS runs passed under load" >&2
