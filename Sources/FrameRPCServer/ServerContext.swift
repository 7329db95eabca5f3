import FrameRPC
import Logging
import NIOCore
import Tracing

/// What a handler knows about the call it serves, besides the request message.
public struct ServerContext: Sendable {
    /// `/package.Service/Method`.
    public var method: String
    public var metadata: Metadata
    /// When the server stops waiting and answers `DEADLINE_EXCEEDED`; the handler's task is cancelled then.
    public var deadline: NIODeadline
    /// From the `request-id` metadata entry, or made up by the server (`<connection>-<stream id>`)
    /// when asked for: most calls log nothing and never need one.
    public var requestID: String {
        self.metadata[MetadataKey.requestID] ?? "\(self.connectionTag)-\(self.streamID)"
    }
    public var remoteAddress: String
    /// `framerpc`, or `connect` for a call that came over HTTP.
    public var transport: String
    /// The call's span, when the router is traced (``RPCRouter/traced(by:)``): what a handler adds
    /// attributes to (who called) once it knows them.
    public var span: (any Span)?
    /// The tracer of ``span``, for the spans a handler starts under it; nil when calls are not traced.
    public var tracer: (any Tracer)?
    private let connectionLogger: Logger
    private let connectionTag: String
    private let streamID: UInt32

    /// The connection's logger with `request-id` and `method` metadata; built when asked for, so
    /// calls that log nothing pay nothing.
    public var logger: Logger {
        var logger = self.connectionLogger
        logger[metadataKey: "request-id"] = "\(self.requestID)"
        logger[metadataKey: "method"] = "\(self.method)"
        return logger
    }

    public init(
        method: String,
        metadata: Metadata,
        deadline: NIODeadline,
        connectionTag: String,
        streamID: UInt32,
        connectionLogger: Logger,
        remoteAddress: String,
        transport: String = "framerpc"
    ) {
        self.transport = transport
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.connectionTag = connectionTag
        self.streamID = streamID
        self.connectionLogger = connectionLogger
        self.remoteAddress = remoteAddress
    }
}
