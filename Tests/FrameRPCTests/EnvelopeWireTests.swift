import Foundation
import FrameRPC
import NIOCore
import SwiftProtobuf
import Testing

/// The envelopes written without building their messages are the bytes swift-protobuf writes for
/// the same fields, and read back by it; payloads are decoded from a buffer in place.
@Suite("Envelopes written straight into frames")
struct EnvelopeWireTests {
    /// Sizes around every varint length boundary the frames can hold.
    static let sizes = [0, 1, 2, 127, 128, 129, 300, 16_383, 16_384, 16_385, 70_000]

    @Test("a success RESPONSE frame is byte for byte swift-protobuf's, for payloads of every varint length")
    func successResponse() throws {
        for size in Self.sizes {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var direct = ByteBuffer()
            let written = direct.writeSuccessResponseFrame(streamID: 77, payload: payload)
            var message = Framerpc_V1_Response()
            message.status = .ok
            message.payload = Data(payload)
            var expected = ByteBuffer()
            expected.writeFrame(streamID: 77, type: .response, payload: try message.serializedBytes() as [UInt8])
            #expect(direct == expected, "payload of \(size) bytes")
            #expect(written == direct.readableBytes)
            let frame = try #require(try Self.frame(&direct))
            let decoded = try Framerpc_V1_Response(serializedBytes: ProtobufBytes(frame.payload))
            #expect(decoded.hasStatus && decoded.status.code == 0 && decoded.payload == Data(payload))
        }
    }

    @Test("a REQUEST frame is byte for byte swift-protobuf's: empty and long methods, payloads, timeouts and metadata")
    func request() throws {
        var generator = SystemRandomNumberGenerator()
        let methods = ["", "/commerce.v1.BalanceService/GetBalance", String(repeating: "m", count: 200), "/é/ü"]
        let timeouts: [UInt64] = [0, 1, 127, 128, 120_000_000, UInt64.max]
        let metadatas: [[(key: String, value: String)]] = [
            [],
            [("authorization", "Bearer abc.def.ghi")],
            [("", ""), ("k", ""), ("", "v"), ("idempotency-key", String(repeating: "x", count: 300))],
            [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("ключ", "значение")],
        ]
        for method in methods {
            for size in Self.sizes.prefix(8) {
                let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                for timeout in timeouts {
                    for metadata in metadatas {
                        var direct = ByteBuffer()
                        let written = direct.writeRequestFrame(
                            streamID: 5,
                            method: method,
                            payload: payload,
                            timeoutMicros: timeout,
                            metadata: metadata
                        )
                        var message = Framerpc_V1_Request()
                        message.method = method
                        message.payload = Data(payload)
                        message.timeoutMicros = timeout
                        message.metadata = metadata.map { Framerpc_V1_KeyValue(key: $0.key, value: $0.value) }
                        var expected = ByteBuffer()
                        expected.writeFrame(
                            streamID: 5,
                            type: .request,
                            payload: try message.serializedBytes() as [UInt8]
                        )
                        #expect(
                            direct == expected,
                            "method \(method.count) chars, payload \(size), timeout \(timeout), \(metadata.count) entries"
                        )
                        #expect(written == direct.readableBytes)
                        let frame = try #require(try Self.frame(&direct))
                        #expect(try Framerpc_V1_Request(serializedBytes: ProtobufBytes(frame.payload)) == message)
                    }
                }
            }
        }
    }

    static func frame(_ buffer: inout ByteBuffer) throws -> Frame? {
        var decoder = FrameDecoder(expectPreface: false)
        guard case .frame(let frame) = try decoder.next(from: &buffer) else { return nil }
        return frame
    }

    @Test("a payload read in place from a buffer's readable bytes decodes as its copy does, also from a slice")
    func inPlaceDecode() throws {
        var message = Framerpc_V1_Request()
        message.method = "/a.B/C"
        message.payload = Data([1, 2, 3])
        var buffer = ByteBuffer(bytes: [9, 9, 9])
        buffer.writeBytes(try message.serializedBytes() as [UInt8])
        buffer.moveReaderIndex(forwardBy: 3)  // readable bytes that do not start the storage
        #expect(try Framerpc_V1_Request(serializedBytes: ProtobufBytes(buffer)) == message)
        #expect(throws: (any Error).self) {
            try Framerpc_V1_Request(serializedBytes: ProtobufBytes(buffer.getSlice(at: buffer.readerIndex, length: 4)!))
        }
    }
}
