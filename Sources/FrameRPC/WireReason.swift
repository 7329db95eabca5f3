/// Reasons the protocol layer itself puts in a ``RPCError`` or a GOAWAY status.
/// Services define their own reasons; these are the ones any FrameRPC peer may see.
public enum WireReason {
    /// The first bytes were not a FrameRPC preface.
    public static let badPreface = "BAD_PREFACE"
    /// The preface named a protocol version this peer does not speak.
    public static let unsupportedVersion = "UNSUPPORTED_VERSION"
    /// A frame header named a frame type that does not exist; the stream cannot be resynchronised.
    public static let unknownFrameType = "UNKNOWN_FRAME_TYPE"
    /// A frame was larger than the receiver's maximum frame size.
    public static let frameTooLarge = "FRAME_TOO_LARGE"
    /// A frame was well-formed but not allowed here (e.g. a RESPONSE sent to a server).
    public static let unexpectedFrame = "UNEXPECTED_FRAME"
    /// A REQUEST on stream 0, or on a stream id that is still in flight.
    public static let invalidStreamID = "INVALID_STREAM_ID"
    /// A REQUEST or GOAWAY payload that is not a valid envelope.
    public static let malformedEnvelope = "MALFORMED_ENVELOPE"
    /// A METADATA frame the server does not take: not on stream 0, not a valid
    /// `ConnectionMetadata`, larger than ``ConnectionMetadata/maxPayload``, or with an entry other
    /// than `authorization`.
    public static let invalidConnectionMetadata = "INVALID_CONNECTION_METADATA"
    /// The request message could not be decoded as the method's request type.
    public static let malformedMessage = "MALFORMED_MESSAGE"
    /// A string field held bytes that are not UTF-8.
    public static let invalidUTF8 = "INVALID_UTF8"
    /// No such method on this server.
    public static let methodNotFound = "METHOD_NOT_FOUND"
    /// The call's deadline passed before it finished.
    public static let deadlineExceeded = "DEADLINE_EXCEEDED"
    /// The client cancelled the call.
    public static let cancelled = "CANCELLED"
    /// Too many calls in flight on this connection.
    public static let tooManyConcurrentCalls = "TOO_MANY_CONCURRENT_CALLS"
    /// The server has as many calls in flight as it admits; retry after the hint in the details.
    public static let overloaded = "OVERLOADED"
    /// The server is at its connection limit.
    public static let tooManyConnections = "TOO_MANY_CONNECTIONS"
    /// The connection was idle for longer than the server's idle timeout.
    public static let idleTimeout = "IDLE_TIMEOUT"
    /// A frame did not arrive whole within the server's frame timeout of its first byte.
    public static let frameTimeout = "FRAME_TIMEOUT"
    /// The server held more bytes of unfinished frames than its budget; this connection held the most.
    public static let partialFrameBudget = "PARTIAL_FRAME_BUDGET"
    /// The client's preface did not arrive within the server's handshake timeout.
    public static let handshakeTimeout = "HANDSHAKE_TIMEOUT"
    /// The server is shutting down gracefully and takes no new calls.
    public static let draining = "SERVER_DRAINING"
    /// The connection closed before the call was answered.
    public static let connectionClosed = "CONNECTION_CLOSED"
    /// The client could not connect.
    public static let connectFailed = "CONNECT_FAILED"
    /// A plaintext connection to a listener that takes TLS only (sent in plaintext, so the client can read it).
    public static let tlsRequired = "TLS_REQUIRED"
    /// The TLS handshake failed: an untrusted or wrong certificate on either side, or a peer that does not speak TLS.
    public static let tlsHandshakeFailed = "TLS_HANDSHAKE_FAILED"
    /// The server failed in a way it does not describe.
    public static let internalError = "INTERNAL_ERROR"
}
