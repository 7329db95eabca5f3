/// The error a call ends with: a status code, a machine-readable reason and a human message.
///
/// Servers throw it (or an error conforming to ``RPCErrorConvertible``) from handlers; clients
/// receive it when a call does not end with ``StatusCode/ok``. Any other error a handler throws
/// reaches the client as `INTERNAL` with no internal detail.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    /// `UPPER_SNAKE_CASE`, stable across releases; clients switch on it.
    public var reason: String
    /// For people and logs; wording may change.
    public var message: String
    /// Structured extras, e.g. `product_id: 42`.
    public var details: [String: String]

    public init(code: StatusCode, reason: String, message: String, details: [String: String] = [:]) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String {
        var text = "\(self.code.name) [\(self.reason)]: \(self.message)"
        if !self.details.isEmpty {
            text += " " + self.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        return text
    }
}

/// Errors that know which ``RPCError`` they are on the wire.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
