import NIOCore

/// Decodes a FrameRPC byte stream: first the peer's preface, then frames.
///
/// The decoder checks a frame's declared length against `maxFrameSize` *before* it waits for or
/// allocates the payload. An oversize frame is not an error of the stream: its header is reported
/// as ``Event/oversizeFrame(_:)`` and its payload bytes are skipped as they arrive, so the
/// connection stays usable. What cannot be resynchronised — a wrong preface, an unknown frame
/// type — throws ``FrameDecodingError``, after which the connection must be closed.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Event

    public enum Event: Sendable, Hashable {
        case preface(Preface)
        case frame(Frame)
        /// A frame whose payload exceeds the limit; its payload is being discarded.
        case oversizeFrame(FrameHeader)

        /// The bytes of the stream it stands for (an oversize frame's whole length, skipped or not).
        public var wireSize: Int {
            switch self {
            case .preface: Preface.size
            case .frame(let frame): Frame.headerSize + frame.payload.readableBytes
            case .oversizeFrame(let header): Frame.headerSize + Int(header.length)
            }
        }
    }

    private enum State {
        case awaitingPreface
        case awaitingFrame
        case discarding(remaining: Int)
    }

    private var state: State
    public let maxFrameSize: Int

    /// - Parameters:
    ///   - maxFrameSize: the largest payload accepted, in bytes.
    ///   - expectPreface: whether the stream starts with the peer's preface.
    public init(maxFrameSize: Int = Frame.defaultMaxPayload, expectPreface: Bool = true) {
        precondition(maxFrameSize >= 0 && maxFrameSize <= Frame.absoluteMaxPayload)
        self.maxFrameSize = maxFrameSize
        self.state = expectPreface ? .awaitingPreface : .awaitingFrame
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let event = try self.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(event))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }

    /// Decodes one event from `buffer` if enough bytes are there; the core of the decoder,
    /// free of any channel so it can be driven directly.
    public mutating func next(from buffer: inout ByteBuffer) throws(FrameDecodingError) -> Event? {
        while true {
            switch self.state {
            case .awaitingPreface:
                // Refuse early: a peer that does not start with the magic is rejected at its first byte.
                let available = min(buffer.readableBytes, Preface.magic.count)
                if let prefix = buffer.getBytes(at: buffer.readerIndex, length: available),
                    prefix != Array(Preface.magic.prefix(available))
                {
                    throw FrameDecodingError.badPreface
                }
                guard let bytes = buffer.readBytes(length: Preface.size) else { return nil }
                let version = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
                let flags = UInt16(bytes[6]) << 8 | UInt16(bytes[7])
                self.state = .awaitingFrame
                return .preface(Preface(version: version, flags: flags))

            case .awaitingFrame:
                guard let header = buffer.peekFrameHeader() else { return nil }
                guard header.type.isKnown else {
                    throw FrameDecodingError.unknownFrameType(header.type)
                }
                let length = Int(header.length)
                if length > self.maxFrameSize {
                    buffer.moveReaderIndex(forwardBy: Frame.headerSize)
                    self.state = .discarding(remaining: length)
                    return .oversizeFrame(header)
                }
                guard buffer.readableBytes >= Frame.headerSize + length else { return nil }
                buffer.moveReaderIndex(forwardBy: Frame.headerSize)
                let payload = buffer.readSlice(length: length)!
                return .frame(
                    Frame(streamID: header.streamID, type: header.type, flags: header.flags, payload: payload)
                )

            case .discarding(let remaining):
                let skip = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skip)
                if skip == remaining {
                    self.state = .awaitingFrame
                    continue
                }
                self.state = .discarding(remaining: remaining - skip)
                return nil
            }
        }
    }
}

/// A byte stream that cannot be read as FrameRPC any further.
public struct FrameDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case badPreface
        case unknownFrameType(UInt8)
    }

    private let base: Base

    public static let badPreface = FrameDecodingError(base: .badPreface)
    public static func unknownFrameType(_ type: FrameType) -> FrameDecodingError {
        FrameDecodingError(base: .unknownFrameType(type.rawValue))
    }

    /// The reason sent to the peer in the GOAWAY that closes the connection.
    public var reason: String {
        switch self.base {
        case .badPreface: WireReason.badPreface
        case .unknownFrameType: WireReason.unknownFrameType
        }
    }

    public var description: String {
        switch self.base {
        case .badPreface: "the peer did not send the FrameRPC preface \"FRPC\" + version"
        case .unknownFrameType(let type):
            "unknown frame type 0x\(String(type, radix: 16)); the stream cannot be resynchronised"
        }
    }
}

@available(*, unavailable)
extension FrameDecoder: Sendable {}
