import FrameRPCServer
import Metrics
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
            gate.pause()
        } else if let connection = context.channel.parent, connection.eventLoop.inEventLoop {
            try? connection.pipeline.syncOperations.handler(type: ReadGate.self).pause()
        }
    }
}

/// The first handler of a Connect connection's pipeline, nearest the socket: while paused it holds
/// back every read. `autoRead = false` alone is not enough here: NIO's HTTP/1.1 pipelining helper
/// asks for a read when a response ends, which would read the next request anyway.
final class ReadGate: ChannelOutboundHandler {
    typealias OutboundIn = Any

    static let roomWaitLimit = TimeAmount.seconds(1)
    static let pauses = Counter(label: "rpc_server_read_pauses_total")

    private let admission: Admission
    private var context: ChannelHandlerContext?
    private var paused = false
    private var heldRead = false
    private var fallback: Scheduled<Void>?

    init(admission: Admission) { self.admission = admission }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.fallback?.cancel()
        self.context = nil
    }

    func read(context: ChannelHandlerContext) {
        if self.paused { self.heldRead = true } else { context.read() }
    }

    func pause() {
        guard !self.paused, let context else { return }
        self.paused = true
        Self.pauses.increment()
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let gate = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.fallback = context.eventLoop.scheduleTask(in: Self.roomWaitLimit) { gate.value.resume() }
        self.admission.whenRoom(for: ObjectIdentifier(self)) {
            gate.eventLoop.execute { gate.value.resume() }
        }
    }

    func resume() {
        guard self.paused, let context else { return }
        self.paused = false
        self.fallback?.cancel()
        self.fallback = nil
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        if self.heldRead {
            self.heldRead = false
            context.read()
        }
    }
}

@available(*, unavailable)
extension ReadGate: Sendable {}
