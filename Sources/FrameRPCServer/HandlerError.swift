import FrameRPC
import Logging

extension RPCError {
    /// What a handler's error becomes on the wire, on any transport: its own code and reason if it
    /// has them (``RPCErrorConvertible``), CANCELLED for a cancelled call, and otherwise INTERNAL
    /// with nothing of the error itself (which is logged instead, as a server bug).
    public static func answering(_ error: any Error, logger: @autoclosure () -> Logger) -> RPCError {
        if let convertible = error as? any RPCErrorConvertible { return convertible.rpcError }
        if error is CancellationError {
            return RPCError(code: .cancelled, reason: WireReason.cancelled, message: "the call was cancelled")
        }
        logger().error("handler failed with an unmapped error", metadata: ["error": "\(error)"])
        return RPCError(code: .internal, reason: WireReason.internalError, message: "internal error")
    }
}
