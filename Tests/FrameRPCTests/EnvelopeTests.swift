import Foundation
import FrameRPC
import SwiftProtobuf
import Testing

@Suite("Envelope and status")
struct EnvelopeTests {
    @Test(
        "RPCError survives a trip through the Status message",
        arguments: [
            RPCError(
                code: .failedPrecondition,
                reason: "INSUFFICIENT_BALANCE",
                message: "balance 10 < 20",
                details: ["balance": "10", "user_id": "3"]
            ),
            RPCError(code: .notFound, reason: "USER_NOT_FOUND", message: "no user 9"),
            RPCError(code: StatusCode(rawValue: 99), reason: "FUTURE", message: "a code from a newer peer"),
        ]
    )
    func statusRoundTrip(error: RPCError) throws {
        let bytes: [UInt8] = try Framerpc_V1_Status(error).serializedBytes()
        let decoded = try Framerpc_V1_Status(serializedBytes: bytes)
        #expect(decoded.rpcError == error)
    }

    @Test("OK status is no error")
    func okStatus() {
        #expect(Framerpc_V1_Status.ok.rpcError == nil)
    }

    @Test("request and response envelopes round-trip with metadata and payload")
    func envelopes() throws {
        var request = Framerpc_V1_Request()
        request.method = "/commerce.v1.BalanceService/GetBalance"
        request.payload = Data([8, 1])
        request.timeoutMicros = 250_000
        request.metadata = (["Idempotency-Key": "k1", "request-id": "r"] as Metadata).keyValues
        let decoded = try Framerpc_V1_Request(serializedBytes: try request.serializedBytes() as [UInt8])
        #expect(decoded == request)
        #expect(Metadata(decoded.metadata)["IDEMPOTENCY-KEY"] == "k1")

        var response = Framerpc_V1_Response()
        response.status = Framerpc_V1_Status(RPCError(code: .unavailable, reason: "SERVER_DRAINING", message: "bye"))
        let back = try Framerpc_V1_Response(serializedBytes: try response.serializedBytes() as [UInt8])
        #expect(back.status.rpcError?.reason == "SERVER_DRAINING")
    }

    @Test("metadata keys are compared lower-cased, also non-ASCII ones; values keep their case")
    func metadataKeys() {
        var metadata: Metadata = [
            "Authorization": "Bearer ABC", "x-lower": "v", "Ärger-Key": "Ü", "ÜÖ": "non-ASCII only",
        ]
        #expect(metadata.entries.map(\.key) == ["authorization", "x-lower", "ärger-key", "üö"])
        #expect(metadata["AUTHORIZATION"] == "Bearer ABC" && metadata["X-Lower"] == "v" && metadata["ÄRGER-key"] == "Ü")
        #expect(metadata["üÖ"] == "non-ASCII only")
        metadata["X-LOWER"] = "w"
        metadata.add("Extra", "1")
        #expect(metadata["x-lower"] == "w" && metadata["extra"] == "1" && metadata.entries.count == 5)
        metadata["x-lower"] = nil
        #expect(metadata["X-Lower"] == nil && metadata.entries.count == 4)
        #expect(Metadata([Framerpc_V1_KeyValue]()).isEmpty && Metadata()["anything"] == nil)
        #expect(Metadata(metadata.keyValues) == metadata)
    }

    @Test("status codes carry gRPC's numbers and names")
    func codes() {
        #expect(StatusCode.invalidArgument.rawValue == 3 && StatusCode.invalidArgument.name == "INVALID_ARGUMENT")
        #expect(StatusCode.unauthenticated.rawValue == 16)
        #expect(StatusCode.deadlineExceeded.name == "DEADLINE_EXCEEDED")
        #expect(StatusCode(rawValue: 42).name == "CODE_42")
    }

    @Test("invalid UTF-8 in a string field is reported as INVALID_UTF8, not a crash")
    func invalidUTF8() {
        // field 1 (method), length 2, bytes 0xC3 0x28: not UTF-8.
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        do {
            _ = try Framerpc_V1_Request(serializedBytes: bytes)
            Issue.record("decoding should fail")
        } catch {
            #expect(RPCError(decoding: error, what: "x").reason == WireReason.invalidUTF8)
        }
    }
}
