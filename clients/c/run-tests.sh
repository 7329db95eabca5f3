#!/usr/bin/env bash
# Starts a real commerce-server, then runs the C interop test and the sample under AddressSanitizer
# and under Valgrind (memcheck, leak check); any error or leak fails.
set -euo pipefail
cd "$(dirname "$0")"
SERVER_BIN="${1:-../../.build/debug/commerce-server}"
WORK="$(mktemp -d)"
TOKEN="c-interop-token"
# Tokens as the shop's sign-in would issue them: a key set made here, a service token, user 1's.
"$SERVER_BIN" keys add --file "$WORK/keys.json" >/dev/null
SERVICE_TOKEN=$("$SERVER_BIN" token --keys "$WORK/keys.json" --service c-interop --ttl 1h)
USER_TOKEN=$("$SERVER_BIN" token --keys "$WORK/keys.json" --user 1 --ttl 1h)
"$SERVER_BIN" serve --db "$WORK/c.sqlite" --seed-demo --port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
  --auth-keys "$WORK/keys.json" --admin-token "$TOKEN" --log-level warning --synchronous normal &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do [[ -s "$WORK/port.json" ]] && break; kill -0 $SERVER_PID || { echo "commerce-server did not start" >&2; exit 1; }; sleep 0.05; done
PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rpc'])" "$WORK/port.json")

echo "--- C interop test under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 ./build/interop_test_asan "$PORT" "$TOKEN" "$SERVICE_TOKEN" "$USER_TOKEN"
echo "--- C client against hostile servers under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 ./build/hostile_test_asan
echo "--- C sample under AddressSanitizer"
ASAN_OPTIONS=detect_leaks=1 ./build/sample_asan 127.0.0.1 "$PORT" "$SERVICE_TOKEN" >/dev/null
VALGRIND=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
          --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --child-silent-after-fork=yes)
echo "--- C interop test under Valgrind"
"${VALGRIND[@]}" ./build/interop_test "$PORT" "$TOKEN" "$SERVICE_TOKEN" "$USER_TOKEN"
echo "--- C client against hostile servers under Valgrind"
"${VALGRIND[@]}" ./build/hostile_test
echo "--- C sample under Valgrind"
"${VALGRIND[@]}" ./build/sample 127.0.0.1 "$PORT" "$SERVICE_TOKEN"
echo "C client tests passed"
