import FrameRPC
import Logging
import NIOCore

/// What a handler knows about the call it serves, besides the request message.
public struct ServerContext: Sendable {
    /// `/package.Service/Method`.
    public var method: String
    public var metadata: Metadata
    /// When the server stops waiting and answers `DEADLINE_EXCEEDED`; the handler's task is cancelled then.
    public var deadline: NIODeadline
    /// From the `request-id` metadata entry, or made up by the server (`<connection>-<stream id>`).
    public var requestID: String
    public var remoteAddress: String
    private let connectionLogger: Logger

    /// The connection's logger with `request-id` and `method` metadata; built when asked for, so
    /// calls that log nothing pay nothing.
    public var logger: Logger {
        var logger = self.connectionLogger
        logger[metadataKey: "request-id"] = "\(self.requestID)"
        logger[metadataKey: "method"] = "\(self.method)"
        return logger
    }

    public init(
        method: String, metadata: Metadata, deadline: NIODeadline, requestID: String, connectionLogger: Logger,
        remoteAddress: String
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.requestID = requestID
        self.connectionLogger = connectionLogger
        self.remoteAddress = remoteAddress
    }
}
