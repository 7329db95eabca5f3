import FrameRPCServer
import NIOCore

/// Pushback, as on a FrameRPC connection: after a call is refused `OVERLOADED` the connection (an
/// HTTP/1.1 connection, or the HTTP/2 connection that carries this stream) is not read until the
/// calls in flight fall to the admission's ``Admission/roomLevel``, or for a second at most. Its
/// client's next requests wait in TCP instead of being read, refused and sent again.
extension ConnectHandler {
    func waitForRoom(context: ChannelHandlerContext) {
        // An HTTP/1.1 connection's gate is in its own pipeline; an HTTP/2 stream's in its parent's,
        // the connection's, which shares the stream's event loop.
        if let gate = try? context.pipeline.syncOperations.handler(type: ReadGate.self) {
            gate.waitForRoom()
        } else if let connection = context.channel.parent, connection.eventLoop.inEventLoop {
            try? connection.pipeline.syncOperations.handler(type: ReadGate.self).waitForRoom()
        }
    }
}
