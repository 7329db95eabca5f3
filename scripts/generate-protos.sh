#!/usr/bin/env bash
# Regenerates every file derived from proto/:
#   Sources/FrameRPC/Generated       (swift-protobuf, framerpc.v1: envelope and built-in services)
#   Sources/CommerceProto/Generated  (swift-protobuf, commerce.v1)
#   clients/c/generated              (protobuf-c, both packages)
# Needs Debian's protoc (protobuf-compiler) and protoc-c (protobuf-c-compiler); protoc-gen-swift is
# built from the swift-protobuf dependency, so the generator always matches the runtime library.
set -euo pipefail
cd "$(dirname "$0")/.."

PLUGIN="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$PLUGIN" ]]; then
  swift build -c release --product protoc-gen-swift >&2
  PLUGIN="$(swift build -c release --show-bin-path)/protoc-gen-swift"
fi

SWIFT_OPTS=(--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath)

rm -rf Sources/FrameRPC/Generated Sources/CommerceProto/Generated clients/c/generated
mkdir -p Sources/FrameRPC/Generated Sources/CommerceProto/Generated clients/c/generated

protoc --plugin=protoc-gen-swift="$PLUGIN" -I proto "${SWIFT_OPTS[@]}" \
  --swift_out=Sources/FrameRPC/Generated proto/framerpc/v1/*.proto
protoc --plugin=protoc-gen-swift="$PLUGIN" -I proto "${SWIFT_OPTS[@]}" \
  --swift_out=Sources/CommerceProto/Generated proto/commerce/v1/*.proto
protoc-c -I proto --c_out=clients/c/generated proto/framerpc/v1/*.proto proto/commerce/v1/*.proto

echo "generated from $(ls proto/*/v1/*.proto | wc -l) proto files" >&2
