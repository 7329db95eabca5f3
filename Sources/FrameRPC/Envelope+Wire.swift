import NIOCore
import SwiftProtobuf

/// A frame's payload as swift-protobuf reads it: the readable bytes of a `ByteBuffer`, decoded in
/// place instead of copied into an array first.
public struct ProtobufBytes: SwiftProtobufContiguousBytes {
    public var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }
    public init(repeating: UInt8, count: Int) { self.buffer = ByteBuffer(repeating: repeating, count: count) }
    public init<S: Sequence>(_ sequence: S) where S.Element == UInt8 { self.buffer = ByteBuffer(bytes: sequence) }
    public var count: Int { self.buffer.readableBytes }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeReadableBytes(body)
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension ByteBuffer {
    /// Appends the RESPONSE frame of a call that succeeded with `payload`: byte for byte what a
    /// `Framerpc_V1_Response` with an OK status and that payload serializes to (field 1, the empty
    /// status; field 2, the payload, left out when empty), written without building the message
    /// or copying the payload twice on the way.
    @discardableResult
    public mutating func writeSuccessResponseFrame(streamID: UInt32, payload: some Collection<UInt8>) -> Int {
        let start = self.writerIndex
        self.writeFrameHeader(streamID: streamID, type: .response, flags: 0, length: 2 + Self.fieldSize(payload.count))
        self.writeMultipleIntegers(UInt8(1 << 3 | 2), UInt8(0))  // status: field 1, empty
        self.writeField(2, payload)
        return self.writerIndex - start
    }

    /// Appends the REQUEST frame of a call: byte for byte what a `Framerpc_V1_Request` of these
    /// fields serializes to (fields in number order, defaults left out), written without building
    /// the message.
    @discardableResult
    public mutating func writeRequestFrame(
        streamID: UInt32,
        method: String,
        payload: some Collection<UInt8>,
        timeoutMicros: UInt64,
        metadata: [(key: String, value: String)]
    ) -> Int {
        func entrySize(_ key: String, _ value: String) -> Int {
            Self.fieldSize(key.utf8.count) + Self.fieldSize(value.utf8.count)
        }
        var length = Self.fieldSize(method.utf8.count) + Self.fieldSize(payload.count)
        if timeoutMicros != 0 { length += 1 + Self.varintSize(timeoutMicros) }
        for (key, value) in metadata {
            let entry = entrySize(key, value)
            length += 1 + Self.varintSize(UInt64(entry)) + entry
        }
        let start = self.writerIndex
        self.writeFrameHeader(streamID: streamID, type: .request, flags: 0, length: length)
        self.writeField(1, method.utf8)
        self.writeField(2, payload)
        if timeoutMicros != 0 {
            self.writeInteger(UInt8(3 << 3))
            self.writeVarint(timeoutMicros)
        }
        for (key, value) in metadata {
            self.writeInteger(UInt8(4 << 3 | 2))
            self.writeVarint(UInt64(entrySize(key, value)))
            self.writeField(1, key.utf8)
            self.writeField(2, value.utf8)
        }
        return self.writerIndex - start
    }

    /// The bytes ``writeField(_:_:)`` writes for `count` bytes of content (one-byte tag).
    static func fieldSize(_ count: Int) -> Int { count == 0 ? 0 : 1 + Self.varintSize(UInt64(count)) + count }

    /// A length-delimited field, left out when empty (proto3's default).
    private mutating func writeField(_ number: UInt8, _ bytes: some Collection<UInt8>) {
        guard !bytes.isEmpty else { return }
        self.writeInteger(number << 3 | 2)
        self.writeVarint(UInt64(bytes.count))
        self.writeBytes(bytes)
    }

    @discardableResult
    mutating func writeVarint(_ value: UInt64) -> Int {
        var value = value
        var written = 0
        while value >= 0x80 {
            written += self.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return written + self.writeInteger(UInt8(value))
    }

    static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
