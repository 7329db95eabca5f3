import FrameRPC

/// How a call failed at the transport, which decides whether it may be retried.
struct ClientFailure: Error {
    enum Kind {
        /// The server provably did not process the call (never sent, refused, or above a GOAWAY's last stream id).
        case notProcessed
        /// The connection broke while the call was in flight; the server may or may not have run it.
        case connectionLost
        /// The server answered with an error, or a local deadline or cancellation ended the call.
        case final
    }

    var kind: Kind
    var error: RPCError

    static func closed(_ message: String = "the connection closed before the call was answered") -> ClientFailure {
        ClientFailure(
            kind: .connectionLost,
            error: RPCError(code: .unavailable, reason: WireReason.connectionClosed, message: message)
        )
    }

    /// The caller's task was cancelled: before the call was sent (`notProcessed`) or while it was in
    /// flight (`final`).
    static func cancelled(_ kind: Kind) -> ClientFailure {
        ClientFailure(
            kind: kind,
            error: RPCError(
                code: .cancelled,
                reason: WireReason.cancelled,
                message: "the call was cancelled by the client"
            )
        )
    }
}
