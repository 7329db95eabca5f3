import Metrics
import NIOCore

/// Holds back a connection's reads: the first handler of every server connection's pipeline
/// (FrameRPC and HTTP), nearest the socket, so no handler above it — TLS finishing a record, NIO's
/// HTTP/1.1 pipelining helper ending a response — can read past it.
///
/// Two things close it:
///
/// - **Pushback.** Refusing costs both sides: the server reads, decodes and answers each call it
///   cannot take, and the client, told to retry in 50 ms, sends it again. Under a flood of 20,000
///   callers on 100 connections that was tens of thousands of refusals in ten seconds
///   (`benchmarks/overload.sh`), each one work the accepted calls did not get. Once a call is
///   refused `OVERLOADED`, ``waitForRoom()`` closes the gate until the calls in flight fall to the
///   admission's ``Admission/roomLevel``, or for ``roomWaitLimit`` at most: what the client sends
///   next waits in the socket buffers, and TCP slows it down. Calls already read are still refused
///   or admitted as they come; a connection without refusals (a health probe's, a client's that
///   stays within the bounds) is never paused.
/// - **Backpressure.** A client that does not read its answers is not read from: the gate closes
///   while the channel is not writable (its writes pending past the high-water mark), so what it
///   sends waits in TCP instead of being read and answered into the server's memory. On an HTTP/2
///   connection that is the carrying connection's socket.
public final class ReadGate: ChannelDuplexHandler {
    public typealias InboundIn = Any
    public typealias OutboundIn = Any

    /// The longest a connection waits for room.
    public static let roomWaitLimit = TimeAmount.seconds(1)
    static let pauses = Counter(label: "rpc_server_read_pauses_total")

    private let admission: Admission
    private var context: ChannelHandlerContext?
    private var waitingForRoom = false
    private var writable = true
    /// A read asked for while closed, issued when the gate opens.
    private var heldRead = false
    private var fallback: Scheduled<Void>?

    public init(admission: Admission) { self.admission = admission }

    /// Whether reads pass.
    public var isOpen: Bool { !self.waitingForRoom && self.writable }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.fallback?.cancel()
        self.fallback = nil
        if self.waitingForRoom { self.admission.forget(ObjectIdentifier(self)) }
        self.context = nil
    }

    public func read(context: ChannelHandlerContext) {
        if self.isOpen { context.read() } else { self.heldRead = true }
    }

    /// Closes the gate after a refusal for load, until the server has room (or a second passes).
    public func waitForRoom() {
        guard !self.waitingForRoom, let context else { return }
        self.waitingForRoom = true
        Self.pauses.increment()
        self.update(context)
        let gate = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.fallback = context.eventLoop.scheduleTask(in: Self.roomWaitLimit) { gate.value.roomFound() }
        self.admission.whenRoom(for: ObjectIdentifier(self)) {
            gate.eventLoop.execute { gate.value.roomFound() }
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if writable != self.writable {
            self.writable = writable
            self.update(context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func roomFound() {
        guard self.waitingForRoom, let context else { return }
        self.waitingForRoom = false
        self.fallback?.cancel()
        self.fallback = nil
        self.update(context)
    }

    private func update(_ context: ChannelHandlerContext) {
        // autoRead off spares the channel a read registration the gate would only hold back.
        context.channel.setOption(ChannelOptions.autoRead, value: self.isOpen).whenFailure { _ in }
        if self.isOpen && self.heldRead {
            self.heldRead = false
            context.read()
        }
    }
}

@available(*, unavailable)
extension ReadGate: Sendable {}
