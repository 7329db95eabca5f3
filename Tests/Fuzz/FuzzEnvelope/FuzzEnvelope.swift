import FrameRPC
import FuzzSupport
import NIOCore
import SwiftProtobuf

/// A REQUEST frame's payload as the server reads it: the envelope either decodes, or maps to
/// `INVALID_ARGUMENT` with a malformed-message or invalid-UTF-8 reason. A decoded envelope gives its
/// metadata and a deadline within the server's maximum, and encodes back to the same message.
@_cdecl("FuzzEnvelope_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzEnvelope(data, size) }
}

func fuzzEnvelope(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
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
