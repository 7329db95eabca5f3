import NIOCore

/// The 8 bytes each side sends first: `"FRPC"`, a u16 protocol version, and u16 flags: what this
/// side accepts beyond version 1's frames (0 from a client; peers ignore flags they do not know).
///
/// A peer whose first bytes differ is not speaking FrameRPC and is refused.
public struct Preface: Sendable, Hashable {
    public static let magic: [UInt8] = Array("FRPC".utf8)
    public static let size = 8
    /// The version this implementation speaks.
    public static let currentVersion: UInt16 = 1
    /// Flag of a server's preface: it takes METADATA frames (``FrameType/metadata``).
    public static let acceptsConnectionMetadata: UInt16 = 0x0001

    public var version: UInt16
    public var flags: UInt16

    public init(version: UInt16 = Preface.currentVersion, flags: UInt16 = 0) {
        self.version = version
        self.flags = flags
    }

    public var bytes: [UInt8] {
        Self.magic + [
            UInt8(self.version >> 8), UInt8(self.version & 0xFF), UInt8(self.flags >> 8), UInt8(self.flags & 0xFF),
        ]
    }
}

extension ByteBuffer {
    @discardableResult
    public mutating func writePreface(_ preface: Preface) -> Int {
        self.writeBytes(preface.bytes)
    }
}
