import CommerceProto
import FrameRPC
import SwiftProtobuf

/// The message types of every method in proto/, for tools that take requests as JSON (the
/// `commerce` CLI). The list itself, ``specs``, is generated.
public enum MethodCatalog {
    public struct Entry: Sendable {
        public let descriptor: MethodDescriptor
        public let request: any SwiftProtobuf.Message.Type
        public let response: any SwiftProtobuf.Message.Type

        /// `/package.Service/Method`.
        public var name: String { self.descriptor.path }
    }

    public static let entries: [Entry] = Self.specs.map {
        Entry(descriptor: $0.descriptor, request: $0.requestType, response: $0.responseType)
    }

    /// Accepts `/pkg.Service/Method` or `pkg.Service/Method`.
    public static func entry(named name: String) -> Entry? {
        let normalized = name.hasPrefix("/") ? name : "/" + name
        return self.entries.first { $0.name == normalized }
    }
}
