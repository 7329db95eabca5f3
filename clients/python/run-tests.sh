#!/usr/bin/env bash
# The Connect (HTTP) API from Python: a virtualenv with connectrpc and selenium (PyPI), connectrpc's
# generated client for every service in proto/ (protoc --python_out plus protoc-gen-connectrpc), a
# real commerce-server on a free HTTP port with authentication on; then test_connect.py (the API)
# test_console.py (the shop console in headless Chromium; screenshots in
# .build/test-output/console) and test_deploy.py (deploy/'s alerts and dashboard against /metrics).
#
#   clients/python/run-tests.sh [path/to/commerce-server]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SERVER_BIN="${1:-$ROOT/.build/debug/commerce-server}"
VENV="$ROOT/.build/python-connect"
WORK="$(mktemp -d /tmp/commerce-python.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$HERE/requirements.txt" "$VENV/requirements.txt"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/requirements.txt"
fi

mkdir -p "$WORK/gen"
protoc -I "$ROOT/proto" --python_out="$WORK/gen" \
  --plugin=protoc-gen-connectrpc="$VENV/bin/protoc-gen-connectrpc" --connectrpc_out="$WORK/gen" --connectrpc_opt=protobuf=google \
  "$ROOT"/proto/framerpc/v1/*.proto "$ROOT"/proto/commerce/v1/*.proto "$ROOT"/proto/google/rpc/*.proto

"$SERVER_BIN" keys add --file "$WORK/keys.json" >/dev/null
"$SERVER_BIN" serve --db "$WORK/commerce.sqlite" --port 0 --http-port 0 --metrics-port=-1 --port-file "$WORK/port.json" \
  --auth-keys "$WORK/keys.json" --admin-token python-admin --synchronous normal --log-level warning >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 200); do [[ -s "$WORK/port.json" ]] && break; sleep 0.05; done
[[ -s "$WORK/port.json" ]] || { cat "$WORK/server.log" >&2; echo "the server did not start" >&2; exit 1; }
HTTP_PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['http'])" "$WORK/port.json")

cd "$HERE"
PYTHONPATH="$WORK/gen:$HERE" COMMERCE_URL="http://127.0.0.1:$HTTP_PORT" COMMERCE_ADMIN_TOKEN=python-admin \
  COMMERCE_SERVER_BIN="$SERVER_BIN" COMMERCE_KEYS="$WORK/keys.json" \
  COMMERCE_SCREENSHOTS="$ROOT/.build/test-output/console" \
  "$VENV/bin/python" -m unittest -v test_connect test_console test_deploy || { echo "--- server log" >&2; tail -50 "$WORK/server.log" >&2; exit 1; }
echo "Python Connect client and console tests passed (screenshots: .build/test-output/console)"
