#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags…]
#
# TARGET is one of FuzzFrames, FuzzEnvelope, FuzzRequests, FuzzPageToken, FuzzEventJSON (Tests/Fuzz/),
# or `all` (each target for SECONDS). A target is built with -sanitize=fuzzer,address (release, in
# .build-fuzz, its own build folder), replays its regression inputs (Tests/Fuzz/Regressions/<Target>,
# inputs that once failed), then fuzzes for SECONDS from a working copy of its seed corpus
# (Tests/Fuzz/Corpus/<Target>, written by scripts/fuzz-seeds.sh). A crash, leak, timeout (10 s per
# input) or out-of-memory stops it and fails the script; the input is kept in
# .build-fuzz/artifacts/<Target>/ — add it to Regressions/ and to a test once fixed.
#
# One line of JSON per target goes to stdout and, with FUZZ_REPORT=FILE, to FILE:
# {"target":…,"seconds":…,"executions":…,"corpus":…,"result":"ok"|"failed"}.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(FuzzFrames FuzzEnvelope FuzzPageToken FuzzEventJSON FuzzRequests)
target=${1:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags]}
seconds=${2:?usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags]}
shift 2
if [[ "$target" == all ]]; then targets=("${ALL[@]}"); else targets=("$target"); fi
for t in "${targets[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "unknown fuzz target $t (one of: ${ALL[*]} all)" >&2; exit 2; }
done

build() {
  # lld: gold fails on the sanitizer runtime's debug info.
  COMMERCE_FUZZ=1 swift build --scratch-path .build-fuzz -c release \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --product "$1" 2>&1 \
    | grep -v -e "Cannot export local symbol" -e "unhandled; explicitly declare" -e "CMakeLists.txt" || true
  [[ -x ".build-fuzz/release/$1" ]] || { echo "building $1 failed" >&2; return 1; }
}

# libFuzzer's own handler reports a crash and keeps the input; Swift's backtracer would only slow it.
export SWIFT_BACKTRACE=enable=no
status=0
for t in "${targets[@]}"; do
  build "$t"
  bin=".build-fuzz/release/$t"
  work=".build-fuzz/corpus/$t"
  artifacts=".build-fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  cp -n Tests/Fuzz/Corpus/"$t"/* "$work"/ 2>/dev/null || true
  if compgen -G "Tests/Fuzz/Regressions/$t/*" >/dev/null; then
    echo "--- $t: replaying $(ls Tests/Fuzz/Regressions/"$t" | wc -l) regression inputs"
    "$bin" -runs=0 Tests/Fuzz/Regressions/"$t"/* >/dev/null 2>&1 || {
      "$bin" Tests/Fuzz/Regressions/"$t"/* 2>&1 | tail -30; status=1; continue; }
  fi
  echo "--- $t: fuzzing for $seconds s"
  log="$artifacts/last-run.log"
  result=ok
  "$bin" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" >"$log" 2>&1 || result=failed
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [[ "$result" == failed ]]; then
    status=1
    grep -B2 -A30 -m1 -E "ERROR: |Fatal error|precondition|==[0-9]+==" "$log" | head -60 >&2 || tail -40 "$log" >&2
    echo "$t failed; input kept in $artifacts/, log in $log" >&2
  fi
  line=$(printf '{"target":"%s","seconds":%s,"executions":%s,"corpus":%s,"result":"%s"}' \
    "$t" "$seconds" "${executions:-0}" "$(ls "$work" | wc -l)" "$result")
  echo "$line"
  [[ -n "${FUZZ_REPORT:-}" ]] && echo "$line" >>"$FUZZ_REPORT"
done
exit "$status"
