#!/usr/bin/env bash
# Shows that the method table is generated and enforced: adds an RPC to a copy of
# proto/commerce/v1/balance.proto, regenerates the service's Swift from it over the committed files,
# and expects CommerceService to fail to compile because BalanceService does not answer the new
# method. Restores every file it touched on the way out (also on failure or interrupt).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTO=proto/commerce/v1/balance.proto
TOUCHED=("$PROTO" Sources/CommerceService/Generated/balance.server.swift Sources/CommerceProto/Generated/balance.methods.swift)
SAVE=$(mktemp -d)
for file in "${TOUCHED[@]}"; do mkdir -p "$SAVE/$(dirname "$file")"; cp "$file" "$SAVE/$file"; done
restore() { for file in "${TOUCHED[@]}"; do cp "$SAVE/$file" "$file"; done; rm -rf "$SAVE"; }
trap restore EXIT

python3 - "$PROTO" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
anchor = "service BalanceService {\n"
assert anchor in text, "BalanceService not found"
text = text.replace(anchor, anchor + "  rpc RefundBalance(ChargeBalanceRequest) returns (ChargeBalanceResponse) {\n"
                    "    option (framerpc.v1.access) = ACCESS_USER;\n  }\n", 1)
open(path, "w").write(text)
PY

swift build --product protoc-gen-framerpc >&2
METHODS="$(swift build --show-bin-path)/protoc-gen-framerpc"
OUT=$(mktemp -d)
protoc --plugin=protoc-gen-framerpc="$METHODS" -I proto --framerpc_opt=Part=server --framerpc_out="$OUT" "$PROTO"
cp "$OUT/balance.server.swift" Sources/CommerceService/Generated/balance.server.swift
protoc --plugin=protoc-gen-framerpc="$METHODS" -I proto --framerpc_opt=Part=descriptors --framerpc_out="$OUT" "$PROTO"
cp "$OUT/balance.methods.swift" Sources/CommerceProto/Generated/balance.methods.swift
rm -rf "$OUT"

LOG=$(mktemp)
if swift build --target CommerceService >"$LOG" 2>&1; then
  echo "FAIL: an RPC added to $PROTO compiled without an implementation" >&2
  exit 1
fi
if ! grep -q "type 'BalanceService' does not conform to protocol 'Commerce_V1_BalanceServiceHandler'" "$LOG" \
  || ! grep -q "refundBalance" "$LOG"; then
  cat "$LOG" >&2
  echo "FAIL: the build failed, but not because BalanceService lacks refundBalance (log above)" >&2
  exit 1
fi
rm -f "$LOG"
echo "ok: an RPC added to proto/ does not compile until the server answers it"
