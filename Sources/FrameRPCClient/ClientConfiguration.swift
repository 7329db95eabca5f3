import Foundation
import FrameRPC

/// Where and how an ``RPCClient`` connects.
public struct ClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Connections in the pool; calls are spread over them round-robin. Each is multiplexed.
    public var connections: Int
    /// Largest answer accepted, in bytes.
    public var maxFrameSize: Int
    public var connectTimeout: Duration
    /// Deadline of a call that names none.
    public var defaultTimeout: Duration
    /// A PING is sent after this long without writing, so the server's idle timeout does not fire.
    public var keepaliveInterval: Duration
    /// Reconnect backoff: first delay, growth factor and ceiling; each delay gets up to 20 % jitter.
    public var backoff: Backoff
    /// Attempts per call, counting the first, for calls that are safe to retry.
    public var maxAttempts: Int
    /// TLS on every connection; nil: plaintext.
    public var tls: ClientTLS?
    /// Entries sent once per connection in a METADATA frame (only `authorization` is taken), to a
    /// server that accepts them: a call that carries the same entry leaves it out of its request,
    /// and a call without one is taken as carrying it. ``CommerceClient`` puts its token here.
    public var connectionMetadata = Metadata()

    public init(
        host: String = "127.0.0.1",
        port: Int = 7070,
        connections: Int = 1,
        maxFrameSize: Int = Frame.defaultMaxPayload,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration = .seconds(30),
        keepaliveInterval: Duration = .seconds(60),
        backoff: Backoff = Backoff(),
        maxAttempts: Int = 4,
        tls: ClientTLS? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.connections = max(1, connections)
        self.maxFrameSize = maxFrameSize
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.keepaliveInterval = keepaliveInterval
        self.backoff = backoff
        self.maxAttempts = max(1, maxAttempts)
    }
}

/// Per-call options.
public struct CallOptions: Sendable {
    /// Overrides ``ClientConfiguration/defaultTimeout``.
    public var timeout: Duration?
    public var metadata: Metadata
    /// Whether the call may be sent again after a connection broke while it was in flight: true for
    /// reads and for writes carrying an idempotency key. Calls the server provably did not process
    /// are retried either way.
    public var idempotent: Bool

    public init(timeout: Duration? = nil, metadata: Metadata = Metadata(), idempotent: Bool = false) {
        self.timeout = timeout
        self.metadata = metadata
        self.idempotent = idempotent
    }
}
