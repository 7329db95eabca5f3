#!/usr/bin/env bash
# Starts the server on an embedded SQLite file (data/commerce.sqlite) with the demo catalogue and
# users, on 127.0.0.1:7070 (FrameRPC), :8080 (the same API over HTTP, the Connect protocol, and the
# shop console at /console) and :9090 (metrics). Extra arguments go to `commerce-server serve`.
# On its first run it makes the key set tokens are signed with (data/auth-keys.json); on every run it
# mints 30-day tokens into data/tokens/: `service` (acts for any user) and `user-1` … `user-10`
# (each for that user only), and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product commerce-server
swift build -c release --product commerce
BIN="$(swift build -c release --show-bin-path)"
umask 077
"$BIN/commerce-server" keys add --file data/auth-keys.json --if-missing >/dev/null
mkdir -p data/tokens
"$BIN/commerce-server" token --keys data/auth-keys.json --service storefront --ttl 30d >data/tokens/service
for user in $(seq 1 10); do
  "$BIN/commerce-server" token --keys data/auth-keys.json --user "$user" --ttl 30d >"data/tokens/user-$user"
done
{
  echo "tokens (30 days; also in data/tokens/): for the tour, export COMMERCE_TOKEN=\$(cat data/tokens/service)"
  echo "service (acts for any user): $(cat data/tokens/service)"
  for user in $(seq 1 5); do echo "user-$user (demo user $user only): $(cat "data/tokens/user-$user")"; done
  echo "user-6 … user-10: data/tokens/ (for users the tour creates)"
  echo "shop console: http://127.0.0.1:8080/console (paste the admin token: ${COMMERCE_ADMIN_TOKEN:-demo-admin-token})"
} >&2
exec "$BIN/commerce-server" serve \
  --db data/commerce.sqlite --seed-demo --auth-keys data/auth-keys.json --http-port 8080 \
  --admin-token "${COMMERCE_ADMIN_TOKEN:-demo-admin-token}" "$@"
