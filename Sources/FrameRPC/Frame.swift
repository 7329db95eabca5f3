import NIOCore

/// One protocol frame: a 10-byte header and its payload.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                  payload length (u32, big-endian)             |
/// +---------------------------------------------------------------+
/// |                  stream id (u32, big-endian)                  |
/// +---------------+---------------+-------------------------------+
/// |  type (u8)    |  flags (u8)   |  payload (length bytes) ...   |
/// +---------------+---------------+-------------------------------+
/// ```
public struct Frame: Sendable, Hashable {
    public static let headerSize = 10
    /// The largest `maxFrameSize` a peer may configure: the length field is a u32, but we keep to Int32.
    public static let absoluteMaxPayload = Int(Int32.max)
    public static let defaultMaxPayload = 4 * 1024 * 1024

    public var streamID: UInt32
    public var type: FrameType
    public var flags: UInt8
    public var payload: ByteBuffer

    public init(streamID: UInt32, type: FrameType, flags: UInt8 = 0, payload: ByteBuffer) {
        self.streamID = streamID
        self.type = type
        self.flags = flags
        self.payload = payload
    }
}

/// A frame header read off the wire, before its payload.
public struct FrameHeader: Sendable, Hashable {
    public var length: UInt32
    public var streamID: UInt32
    public var type: FrameType
    public var flags: UInt8

    public init(length: UInt32, streamID: UInt32, type: FrameType, flags: UInt8) {
        self.length = length
        self.streamID = streamID
        self.type = type
        self.flags = flags
    }
}

extension ByteBuffer {
    /// Appends `frame` with its header.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        self.writeFrameHeader(
            streamID: frame.streamID,
            type: frame.type,
            flags: frame.flags,
            length: frame.payload.readableBytes
        )
            + self.writeImmutableBuffer(frame.payload)
    }

    /// Appends a frame whose payload is `payload`.
    @discardableResult
    public mutating func writeFrame(
        streamID: UInt32,
        type: FrameType,
        flags: UInt8 = 0,
        payload: some Collection<UInt8>
    ) -> Int {
        self.writeFrameHeader(streamID: streamID, type: type, flags: flags, length: payload.count)
            + self.writeBytes(payload)
    }

    @discardableResult
    mutating func writeFrameHeader(streamID: UInt32, type: FrameType, flags: UInt8, length: Int) -> Int {
        precondition(length <= Frame.absoluteMaxPayload, "frame payload of \(length) bytes is too large")
        return self.writeMultipleIntegers(UInt32(length), streamID, type.rawValue, flags)
    }

    /// The header at the reader index, if 10 bytes are readable; does not move the reader index.
    public func peekFrameHeader() -> FrameHeader? {
        guard
            let (length, streamID, type, flags) = self.getMultipleIntegers(
                at: self.readerIndex,
                as: (UInt32, UInt32, UInt8, UInt8).self
            )
        else { return nil }
        return FrameHeader(length: length, streamID: streamID, type: FrameType(rawValue: type), flags: flags)
    }
}
