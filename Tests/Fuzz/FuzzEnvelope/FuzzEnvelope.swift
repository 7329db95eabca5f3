import FrameRPC
import FuzzSupport
import NIOCore
import SwiftProtobuf

/// A REQUEST frame's payload as the server reads it: the envelope either decodes, or maps to
/// `INVALID_ARGUMENT` with a malformed-message or invalid-UTF-8 reason. A decoded envelope gives its
/// metadata and a deadline within the server's maximum, and encodes back to the same message.
/// The same bytes as a METADATA frame's payload: its entries joined with a call's keep every entry
/// of the call and add each connection entry whose key the call lacks.
@_cdecl("FuzzEnvelope_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzEnvelope(data, size) }
}

func fuzzEnvelope(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    if let declared = try? Framerpc_V1_ConnectionMetadata(serializedBytes: Array(bytes)) {
        let connection = Metadata(declared.metadata).entries
        let call: Metadata = ["authorization": "Bearer own", "trace-tag": "t"]
        let merged = ConnectionMetadata.merge(connection: connection, request: call)
        require(merged["authorization"] == "Bearer own", "a call's own credential lost to the connection's")
        for entry in connection where call[entry.key] == nil {
            require(merged[entry.key] != nil, "the connection's \(entry.key) did not reach the call")
        }
        require(merged.entries.count >= call.entries.count, "a call's entries lost")
    }
    let request: Framerpc_V1_Request
    do {
        request = try Framerpc_V1_Request(serializedBytes: Array(bytes))
    } catch {
        let mapped = RPCError(decoding: error, what: "request envelope")
        require(mapped.code == .invalidArgument, "an undecodable envelope answered \(mapped)")
        require(
            mapped.reason == WireReason.malformedMessage || mapped.reason == WireReason.invalidUTF8,
            "reason \(mapped.reason)"
        )
        return 0
    }
    let metadata = Metadata(request.metadata)
    require(metadata.entries.count == request.metadata.count, "metadata entries lost")
    for key in [MetadataKey.authorization, MetadataKey.idempotencyKey, MetadataKey.requestID, "X-Mixed-Case", "ÄÖ"] {
        _ = metadata[key]
    }
    for entry in metadata.entries {
        require(metadata[entry.key] != nil, "the key \(entry.key) does not find its own entry")
    }

    let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let maximum = TimeAmount.seconds(300)
    let deadline = request.deadline(from: now, maximum: maximum)
    require(deadline > now, "timeout \(request.timeoutMicros) µs gave a deadline in the past")
    require(deadline <= now + maximum, "timeout \(request.timeoutMicros) µs passed the maximum")

    let again = try! Framerpc_V1_Request(serializedBytes: try! request.serializedBytes() as [UInt8])
    require(again == request, "the envelope does not survive encoding")
    return 0
}
