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
    /// From the `request-id` metadata entry, or made up by the server.
    public var requestID: String
    public var logger: Logger
    public var remoteAddress: String

    public init(
        method: String, metadata: Metadata, deadline: NIODeadline, requestID: String, logger: Logger,
        remoteAddress: String
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.requestID = requestID
        self.logger = logger
        self.remoteAddress = remoteAddress
    }
}
