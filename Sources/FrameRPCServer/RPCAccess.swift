/// Who may call a method, as its service declares it: a label the server keeps with the method so
/// that the table can be walked (tests, docs, `ListMethods`). The service enforces it; the
/// transport only carries it. Every method has one: ``unclassified`` marks one nobody classified.
public struct RPCAccess: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) { self.name = name }

    /// Anyone who can reach the port.
    public static let `public` = RPCAccess("public")
    /// Nobody said: a test of the method table fails on it.
    public static let unclassified = RPCAccess("unclassified")

    public var description: String { self.name }
}
