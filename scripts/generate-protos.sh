#!/usr/bin/env bash
# Regenerates every file derived from proto/:
#   Sources/FrameRPC/Generated        (swift-protobuf, framerpc.v1: envelope, built-in services,
#                                      method options; google.rpc.ErrorInfo for Connect errors;
#                                      protoc-gen-framerpc: their method specs)
#   Sources/CommerceProto/Generated   (swift-protobuf, commerce.v1; protoc-gen-framerpc: method specs)
#   Sources/CommerceService/Generated (protoc-gen-framerpc: a handler protocol per service and its
#                                      registration behind each method's declared access)
#   Sources/CommerceClient/Generated  (protoc-gen-framerpc: typed client methods, the method catalogue)
#   clients/c/generated               (protobuf-c, both packages; protoc-gen-framerpc: method names)
# Needs Debian's protoc (protobuf-compiler, with libprotobuf-dev's descriptor.proto) and protoc-c
# (protobuf-c-compiler). protoc-gen-swift is built from the swift-protobuf dependency, so the
# generator always matches the runtime library; protoc-gen-framerpc is this package's own
# (Sources/FrameRPCGenerator), built after the messages it reads its options with.
set -euo pipefail
cd "$(dirname "$0")/.."

PLUGIN="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$PLUGIN" ]]; then
  swift build -c release --product protoc-gen-swift >&2
  PLUGIN="$(swift build -c release --show-bin-path)/protoc-gen-swift"
fi

SWIFT_OPTS=(--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath)
FRAMERPC=(proto/framerpc/v1/*.proto)
COMMERCE=(proto/commerce/v1/*.proto)

rm -rf Sources/FrameRPC/Generated Sources/CommerceProto/Generated Sources/CommerceService/Generated \
  Sources/CommerceClient/Generated clients/c/generated
mkdir -p Sources/FrameRPC/Generated Sources/CommerceProto/Generated Sources/CommerceService/Generated \
  Sources/CommerceClient/Generated clients/c/generated

protoc --plugin=protoc-gen-swift="$PLUGIN" -I proto "${SWIFT_OPTS[@]}" \
  --swift_out=Sources/FrameRPC/Generated "${FRAMERPC[@]}" proto/google/rpc/*.proto
protoc --plugin=protoc-gen-swift="$PLUGIN" -I proto "${SWIFT_OPTS[@]}" \
  --swift_out=Sources/CommerceProto/Generated "${COMMERCE[@]}"

# options.proto annotates methods for protoc-gen-framerpc only; the C client has nothing to take
# from it, and its import of google/protobuf/descriptor.proto has no protobuf-c counterpart.
protoc-c -I proto --c_out=clients/c/generated $(ls "${FRAMERPC[@]}" "${COMMERCE[@]}" | grep -v options.proto)
sed -i '/#include "framerpc\/v1\/options.pb-c.h"/d' clients/c/generated/*/v1/*.pb-c.h

# A debug build: it shares the test build's modules, and its speed does not matter.
swift build --product protoc-gen-framerpc >&2
METHODS="$(swift build --show-bin-path)/protoc-gen-framerpc"
framerpc() { protoc --plugin=protoc-gen-framerpc="$METHODS" -I proto "$@"; }
framerpc --framerpc_opt=Part=descriptors,InFrameRPC=true --framerpc_out=Sources/FrameRPC/Generated "${FRAMERPC[@]}"
framerpc --framerpc_opt=Part=descriptors --framerpc_out=Sources/CommerceProto/Generated "${COMMERCE[@]}"
framerpc --framerpc_opt=Part=server --framerpc_out=Sources/CommerceService/Generated "${COMMERCE[@]}"
framerpc --framerpc_opt=Part=client,Catalog=method_catalog.swift --framerpc_out=Sources/CommerceClient/Generated \
  "${FRAMERPC[@]}" "${COMMERCE[@]}"
framerpc --framerpc_opt=Part=c,Header=commerce_methods.h --framerpc_out=clients/c/generated "${FRAMERPC[@]}" "${COMMERCE[@]}"

echo "generated from $(ls proto/*/v1/*.proto | wc -l) proto files" >&2
