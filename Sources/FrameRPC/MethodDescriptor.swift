import SwiftProtobuf

/// One method as `proto/` declares it: where it lives, who may call it and whether it changes
/// state. protoc-gen-framerpc writes one per method (`Commerce_V1_BalanceService.GetBalance`), so
/// no method name is typed anywhere else.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// `package.Service`.
    public let service: String
    /// The method's own name, `GetBalance`.
    public let method: String
    /// `/package.Service/Method`, as it travels in a call's envelope.
    public let path: String
    public let access: RPCAccess
    /// False for a method marked `idempotency_level = NO_SIDE_EFFECTS`: a read, safe to retry.
    public let mutating: Bool

    public init(service: String, method: String, access: RPCAccess, mutating: Bool) {
        self.service = service
        self.method = method
        self.path = "/\(service)/\(method)"
        self.access = access
        self.mutating = mutating
    }

    public var description: String { self.path }
}

/// A method with its message types: the generated `Service.Method` enums conform, and servers
/// and clients take them instead of a name and two types that could disagree.
public protocol RPCMethodSpec: Sendable {
    associatedtype Request: SwiftProtobuf.Message
    associatedtype Response: SwiftProtobuf.Message
    static var descriptor: MethodDescriptor { get }
}

extension RPCMethodSpec {
    public static var requestType: any SwiftProtobuf.Message.Type { Request.self }
    public static var responseType: any SwiftProtobuf.Message.Type { Response.self }
}
