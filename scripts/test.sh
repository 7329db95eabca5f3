#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds everything (the multi-process tests run the
# built commerce-server binary), runs the Swift tests, then the C client's tests against a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Every product and the test bundle (the tests run the built commerce-server). The project's own
# code builds without warnings: any warning in Sources/ or Tests/ fails the run; and every target
# declares the targets it imports (SwiftPM's import check).
BUILD_LOG=$(mktemp)
swift build --build-tests --explicit-target-dependency-import-check=error 2>&1 | tee "$BUILD_LOG"
if grep -E "^$PWD/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$BUILD_LOG" | sort -u; then
  echo "compiler warnings in the project's own code (above): fix them" >&2
  exit 1
fi
rm -f "$BUILD_LOG"
# A real PostgreSQL for the store and race tests, in a folder of its own, stopped at the end,
# also when a test fails. Each test makes (and drops) a database of its own on it.
PG_DIR=$(mktemp -d /tmp/commerce-test-pg.XXXXXX)
PG_PORT=${COMMERCE_TEST_POSTGRES_PORT:-$((50000 + RANDOM % 10000))}
trap 'scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"' EXIT
export COMMERCE_TEST_POSTGRES=$(scripts/postgres.sh start "$PG_DIR" "$PG_PORT")
export COMMERCE_REQUIRE_POSTGRES=1
echo "PostgreSQL for the tests: $COMMERCE_TEST_POSTGRES"
# Suites one at a time: each test races hundreds of real clients by itself; running the heavy ones
# side by side on 2 cores only starves the timers of the others.
swift test --skip-build --no-parallel
if [[ -f clients/c/Makefile ]]; then
  make -C clients/c test SERVER_BIN="$PWD/.build/debug/commerce-server"
fi
# The HTTP (Connect) API from a client no one here wrote: Python's connectrpc and its generated code.
clients/python/run-tests.sh "$PWD/.build/debug/commerce-server"
# Instances on separate (namespaced) hosts: PostgreSQL, three servers, the load generator, and one
# instance SIGKILLed mid-run. Skipped, saying why, where the machine cannot make network namespaces.
status=0
scripts/multihost.sh .build/debug || status=$?
if ((status == 77)); then echo "multihost: skipped (see above)"; elif ((status != 0)); then exit "$status"; fi
# Coverage-guided fuzzing, short and bounded: each libFuzzer target replays its regression inputs,
# then fuzzes for FUZZ_SECONDS (20) from the seed corpus; a crash or leak fails the run.
scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"
if [[ -x benchmarks/smoke.sh ]]; then
  benchmarks/smoke.sh
fi
echo "all tests passed"
