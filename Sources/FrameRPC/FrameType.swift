/// The type byte of a frame header.
public struct FrameType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Client to server: a `framerpc.v1.Request` starting call `streamID`.
    public static let request = FrameType(rawValue: 0x01)
    /// Server to client: the `framerpc.v1.Response` ending call `streamID`.
    public static let response = FrameType(rawValue: 0x02)
    /// Client to server, empty payload: nobody waits for call `streamID` any more.
    public static let cancel = FrameType(rawValue: 0x03)
    /// Either way, stream 0, 0 to 64 opaque payload bytes; the peer answers PONG with the same bytes.
    public static let ping = FrameType(rawValue: 0x04)
    public static let pong = FrameType(rawValue: 0x05)
    /// Server to client, stream 0: a `framerpc.v1.GoAway`; no calls above its last stream id will run.
    public static let goAway = FrameType(rawValue: 0x06)
    /// Client to server, stream 0: a `framerpc.v1.ConnectionMetadata`, the entries every later
    /// REQUEST of the connection carries (a credential sent once). Only to a server whose preface
    /// has ``Preface/acceptsConnectionMetadata``.
    public static let metadata = FrameType(rawValue: 0x07)

    public var isKnown: Bool { (0x01...0x07).contains(self.rawValue) }

    public var description: String {
        switch self.rawValue {
        case 0x01: "REQUEST"
        case 0x02: "RESPONSE"
        case 0x03: "CANCEL"
        case 0x04: "PING"
        case 0x05: "PONG"
        case 0x06: "GOAWAY"
        case 0x07: "METADATA"
        default: "UNKNOWN(0x\(String(self.rawValue, radix: 16)))"
        }
    }
}
