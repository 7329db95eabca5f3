#!/usr/bin/env bash
# Starts the server on an embedded SQLite file (data/commerce.sqlite) with the demo catalogue and
# users, on 127.0.0.1:7070 (metrics on :9090). Extra arguments go to `commerce-server serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product commerce-server
swift build -c release --product commerce
exec "$(swift build -c release --show-bin-path)/commerce-server" serve \
  --db data/commerce.sqlite --seed-demo --admin-token "${COMMERCE_ADMIN_TOKEN:-demo-admin-token}" "$@"
