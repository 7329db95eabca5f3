import CommerceDomain
import FrameRPC

/// The domain says what kind of rule broke; the edge says which status code that is on the wire.
extension CommerceError: RPCErrorConvertible {
    public var rpcError: RPCError {
        let code: StatusCode =
            switch self.kind {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .failedPrecondition: .failedPrecondition
            case .resourceExhausted: .resourceExhausted
            case .unauthenticated: .unauthenticated
            case .permissionDenied: .permissionDenied
            case .unavailable: .unavailable
            }
        return RPCError(code: code, reason: self.reason.rawValue, message: self.message, details: self.details)
    }
}
