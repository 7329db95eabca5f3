import NIOCore

/// The 8 bytes each side sends first: `"FRPC"`, a u16 protocol version, two zero bytes.
///
/// A peer whose first bytes differ is not speaking FrameRPC and is refused.
public struct Preface: Sendable, Hashable {
    public static let magic: [UInt8] = Array("FRPC".utf8)
    public static let size = 8
    /// The version this implementation speaks.
    public static let currentVersion: UInt16 = 1

    public var version: UInt16

    public init(version: UInt16 = Preface.currentVersion) {
        self.version = version
    }

    public var bytes: [UInt8] {
        Self.magic + [UInt8(self.version >> 8), UInt8(self.version & 0xFF), 0, 0]
    }
}

extension ByteBuffer {
    @discardableResult
    public mutating func writePreface(_ preface: Preface) -> Int {
        self.writeBytes(preface.bytes)
    }
}
