import NIOCore

/// Limits and addresses of an ``RPCServer``. Every limit answers with a clear status when hit.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; ``RPCServer/port`` tells which.
    public var port: Int
    /// Largest frame payload accepted, in bytes. Larger REQUESTs are answered `RESOURCE_EXHAUSTED`
    /// / `FRAME_TOO_LARGE` and skipped without being buffered.
    public var maxFrameSize: Int
    /// Calls in flight on one connection; more are answered `RESOURCE_EXHAUSTED` / `TOO_MANY_CONCURRENT_CALLS`.
    public var maxConcurrentCallsPerConnection: Int
    /// Open connections; more get a GOAWAY `RESOURCE_EXHAUSTED` / `TOO_MANY_CONNECTIONS` and are closed.
    public var maxConnections: Int
    /// Calls in flight across every connection; more are answered `RESOURCE_EXHAUSTED` /
    /// `OVERLOADED` at once, with a `retry_after_ms` detail. Mutating calls may take three quarters
    /// of them, so reads are not starved by a write flood; Health/Check is always admitted.
    public var maxCallsInFlight: Int
    /// A connection that completes no frame for this long while no call is in flight gets a GOAWAY
    /// `UNAVAILABLE` / `IDLE_TIMEOUT` and is closed. Bytes of an unfinished frame do not count.
    /// Clients keep connections alive with PING.
    public var idleTimeout: TimeAmount
    /// A frame must arrive whole within this long of its first byte; a slower one (a peer dripping
    /// bytes to hold a connection) gets a GOAWAY `RESOURCE_EXHAUSTED` / `FRAME_TIMEOUT` and is closed.
    public var frameTimeout: TimeAmount
    /// The client's preface must arrive within this long of the connection opening, else the
    /// connection gets a GOAWAY `UNAVAILABLE` / `HANDSHAKE_TIMEOUT` and is closed.
    public var handshakeTimeout: TimeAmount
    /// Bytes of unfinished frames the server holds across every connection; past it, the connection
    /// holding the most gets a GOAWAY `RESOURCE_EXHAUSTED` / `PARTIAL_FRAME_BUDGET` and is closed.
    public var maxBufferedPartialBytes: Int
    /// Bytes an event loop reads in one turn over its connections, shared among them: one read of
    /// a connection takes this over the loop's connections, between 128 bytes and 64 KiB (``FairShareReads``),
    /// so a flood's connections cannot make a turn long and a probe on its own connection waits one
    /// short turn.
    public var readBytesPerTurn: Int
    /// Calls an event loop reads in one turn at most, counted in frames of the mean size read so
    /// far (``FrameSizes``): with small requests the byte budget alone let a turn grow long.
    public var readCallsPerTurn: Int
    /// How long a graceful shutdown waits for calls in flight before closing connections anyway.
    public var drainTimeout: TimeAmount
    /// The longest deadline the server honours; calls asking for more (or none) get this one.
    public var maxDeadline: TimeAmount
    /// TLS on the listener (plaintext connections are refused `TLS_REQUIRED`); nil: plaintext.
    public var tls: ServerTLS?

    public init(
        host: String = "127.0.0.1",
        port: Int = 7070,
        maxFrameSize: Int = 4 * 1024 * 1024,
        maxConcurrentCallsPerConnection: Int = 1024,
        maxConnections: Int = 10_000,
        maxCallsInFlight: Int = 8_192,
        idleTimeout: TimeAmount = .seconds(300),
        drainTimeout: TimeAmount = .seconds(30),
        maxDeadline: TimeAmount = .seconds(120),
        frameTimeout: TimeAmount = .seconds(10),
        handshakeTimeout: TimeAmount = .seconds(5),
        maxBufferedPartialBytes: Int = 64 * 1024 * 1024,
        readBytesPerTurn: Int = 64 * 1024,
        readCallsPerTurn: Int = 256,
        tls: ServerTLS? = nil
    ) {
        self.readBytesPerTurn = readBytesPerTurn
        self.readCallsPerTurn = max(1, readCallsPerTurn)
        self.tls = tls
        self.maxBufferedPartialBytes = maxBufferedPartialBytes
        self.frameTimeout = frameTimeout
        self.handshakeTimeout = handshakeTimeout
        self.host = host
        self.port = port
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.maxConnections = maxConnections
        self.maxCallsInFlight = maxCallsInFlight
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
        self.maxDeadline = maxDeadline
    }
}
