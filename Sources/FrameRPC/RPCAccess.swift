/// Who may call a method, as `proto/` declares it (`option (framerpc.v1.access)`): a label kept
/// with the method so that the table can be walked (tests, docs, `ListMethods`) and clients know
/// which credential to send. The server enforces it; the transport only carries it.
public struct RPCAccess: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) { self.name = name }

    /// Anyone who can reach the port.
    public static let `public` = RPCAccess("public")
    /// Acts for one user: that user's own token, or a service token.
    public static let user = RPCAccess("user")
    /// Trusted backends only (a service token).
    public static let service = RPCAccess("service")
    /// The admin token or a token with the admin scope.
    public static let admin = RPCAccess("admin")
    /// Nobody said: a test of the method table fails on it.
    public static let unclassified = RPCAccess("unclassified")

    public var description: String { self.name }
}
