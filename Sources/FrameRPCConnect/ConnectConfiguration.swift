import FrameRPCServer
import NIOCore

/// The HTTP listener's settings (`--http-port` and friends).
public struct ConnectConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// A request body (or a GET's message) above this is refused `RESOURCE_EXHAUSTED`.
    public var maxBodySize: Int
    /// Caps `Connect-Timeout-Ms`; also the deadline of a call that sends none.
    public var maxDeadline: TimeAmount
    /// An idle keep-alive connection, or one whose next request head does not arrive whole, is closed after this.
    public var idleTimeout: TimeAmount
    /// A request's body must arrive whole within this of its head.
    public var requestTimeout: TimeAmount
    public var maxConnections: Int
    /// How long a shutdown waits for calls in flight.
    public var drainTimeout: TimeAmount
    /// TLS on the HTTP listener, offering `h2` and `http/1.1` in ALPN; plaintext speaks HTTP/1.1
    /// and HTTP/2 with prior knowledge.
    public var tls: ServerTLS?

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        maxBodySize: Int = 4 * 1024 * 1024,
        maxDeadline: TimeAmount = .seconds(120),
        idleTimeout: TimeAmount = .seconds(60),
        requestTimeout: TimeAmount = .seconds(10),
        maxConnections: Int = 1_000,
        drainTimeout: TimeAmount = .seconds(30),
        tls: ServerTLS? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.maxBodySize = maxBodySize
        self.maxDeadline = maxDeadline
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
    }
}

/// A fixed answer to a GET (the console page, the metrics text).
public struct StaticResponse: Sendable {
    public var contentType: String
    public var body: [UInt8]

    public init(contentType: String, body: [UInt8]) {
        self.contentType = contentType
        self.body = body
    }
}
