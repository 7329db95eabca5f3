import FrameRPC
import Foundation
import Logging
import Metrics
import NIOCore
import NIOSSL
import SwiftProtobuf

/// Asks a connection to drain: send GOAWAY, take no new calls, close once the calls in flight end.
struct DrainEvent: Sendable {}

/// Serves the calls of one connection. Runs on the channel's event loop and never blocks it:
/// each call's handler runs in its own task, whose executor is this same event loop (handlers
/// must not block; storage work hops to Dispatch queues), and its answer is written from the loop.
///
/// Calls are independent: they are answered in whatever order they finish, matched by stream id.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoder.Event
    typealias OutboundOut = ByteBuffer

    private struct Call {
        let metrics: MethodMetrics
        let task: Task<Void, Never>
        let started: NIODeadline
        let deadline: NIODeadline
    }

    private let router: RPCRouter
    private let configuration: ServerConfiguration
    private let metrics: ServerMetrics
    private var logger: Logger

    private var context: ChannelHandlerContext?
    private var calls: [UInt32: Call] = [:]
    /// Set for the earliest deadline of the calls in flight.
    private var deadlines = DeadlineTimer()
    /// When bytes and whole frames last arrived, for the handshake, frame and idle timeouts.
    private let progress: ReadProgress
    /// Shared by the server's connections: protocol errors and timeouts are logged a few at a time.
    private let protocolErrors: LogLimiter
    /// Shared by the server's connections: the server-wide bound on calls in flight.
    private let admission: Admission
    private var timeoutCheck: Scheduled<Void>?
    private var highestStreamID: UInt32 = 0
    private var state = ConnectionState.awaitingPreface(draining: false)
    private var flushPending = false
    private var remoteAddress = "?"
    private var executor: EventLoopTaskExecutor?
    /// Prefix of the request ids this connection makes up for calls that bring none.
    private let connectionTag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    init(
        router: RPCRouter, configuration: ServerConfiguration, metrics: ServerMetrics, logger: Logger, progress: ReadProgress,
        protocolErrors: LogLimiter, admission: Admission
    ) {
        self.admission = admission
        self.progress = progress
        self.protocolErrors = protocolErrors
        self.router = router
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.executor = EventLoopTaskExecutor(context.eventLoop)
        self.remoteAddress = context.channel.remoteAddress?.description ?? "?"
        self.logger[metadataKey: "peer"] = "\(self.remoteAddress)"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Preface.size)
        buffer.writePreface(Preface())
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        self.logger.debug("connection opened")
        self.scheduleTimeoutCheck(at: self.nextTimeoutCheck(now: .now()), on: context.eventLoop)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (_, call) in self.calls {
            call.task.cancel()
        }
        self.deadlines.cancel()
        self.timeoutCheck?.cancel()
        self.timeoutCheck = nil
        self.admission.release(self.calls.count)
        self.calls.removeAll()
        self.logger.debug("connection closed")
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: a client that does not read its answers stops being read from.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.state.isClosing else { return }
        // A whole frame (or the preface) arrived: what the idle and frame timeouts count.
        self.progress.lastFrame = .now()
        self.progress.partialSince = nil
        let event = Self.unwrapInboundIn(data)
        self.progress.completed(event.wireSize)
        switch event {
        case .preface(let preface):
            guard preface.version == Preface.currentVersion else {
                self.goAway(
                    RPCError(code: .unimplemented, reason: WireReason.unsupportedVersion,
                             message: "protocol version \(preface.version) is not supported; this server speaks \(Preface.currentVersion)"),
                    close: true)
                return
            }
            self.state.prefaceArrived()

        case .oversizeFrame(let header):
            let error = RPCError(
                code: .resourceExhausted, reason: WireReason.frameTooLarge,
                message: "frame of \(header.length) bytes exceeds the limit of \(self.configuration.maxFrameSize) bytes")
            if header.type == .request && header.streamID != 0 && self.calls[header.streamID] == nil {
                self.highestStreamID = max(self.highestStreamID, header.streamID)
                self.respond(streamID: header.streamID, method: "?", result: .failure(error))
            } else {
                self.goAway(error, close: true)
            }

        case .frame(let frame):
            self.handle(frame: frame)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            self.beginDrain()
        } else if event is PartialFrameBudgetExceeded {
            self.goAway(RPCError(code: .resourceExhausted, reason: WireReason.partialFrameBudget,
                                 message: "the server holds too many bytes of unfinished frames; this connection held the most"), close: true)
            self.logProtocolError("closing the connection holding the most bytes of unfinished frames", WireReason.partialFrameBudget)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameDecodingError {
            if error == .badPreface && !self.state.prefaceReceived {
                // Not a FrameRPC peer: say so in plain text, which any client can show.
                var buffer = context.channel.allocator.buffer(capacity: 96)
                buffer.writeString("FRPC BAD_PREFACE: this is a FrameRPC server; send the preface \"FRPC\\0\\1\\0\\0\" first\n")
                self.state = .closing
                let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                self.goAway(RPCError(code: .invalidArgument, reason: error.reason, message: error.description), close: true)
            }
            self.logProtocolError("closing connection after a protocol error", "\(error)")
            return
        }
        if error is NIOSSLError || error is BoringSSLError {
            // A client that does not trust the certificate (or an expired one), a missing client
            // certificate: what an operator must see, at a bounded rate.
            Self.tlsFailures.increment()
            self.logProtocolError("TLS handshake failed", "\(error)")
        } else {
            self.logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    static let tlsFailures = Counter(label: "rpc_server_tls_handshake_failures_total")

    /// At most ``LogLimiter/perWindow`` such lines per window, across the server's connections.
    private func logProtocolError(_ message: Logger.Message, _ detail: String) {
        guard let suppressed = self.protocolErrors.admit() else { return }
        var metadata: Logger.Metadata = ["error": "\(detail)"]
        if suppressed > 0 { metadata["suppressed_before"] = "\(suppressed)" }
        self.logger.info(message, metadata: metadata)
    }

    // MARK: Timeouts that count whole frames

    private func scheduleTimeoutCheck(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        self.timeoutCheck?.cancel()
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        self.timeoutCheck = eventLoop.scheduleTask(deadline: deadline) { handler.value.checkTimeouts() }
    }

    /// A preface late, a frame dripping in, or no frame for the idle timeout (with no call in
    /// flight) ends the connection with a GOAWAY saying which; otherwise the next check is set for
    /// the earliest moment one of them could apply (an unfinished frame that starts meanwhile is
    /// caught within one and a half frame timeouts).
    private func checkTimeouts() {
        self.timeoutCheck = nil
        guard let eventLoop = self.context?.eventLoop, !self.state.isClosing else { return }
        let now = NIODeadline.now()
        let configuration = self.configuration
        func milliseconds(_ amount: TimeAmount) -> Int64 { amount.nanoseconds / 1_000_000 }
        if !self.state.prefaceReceived, now - self.progress.opened >= configuration.handshakeTimeout {
            self.goAway(RPCError(code: .unavailable, reason: WireReason.handshakeTimeout,
                                 message: "no preface within \(milliseconds(configuration.handshakeTimeout)) ms"), close: true)
            self.logProtocolError("closing connection after a timeout", WireReason.handshakeTimeout)
            return
        }
        if let since = self.progress.partialSince, now - since >= configuration.frameTimeout {
            self.goAway(RPCError(code: .resourceExhausted, reason: WireReason.frameTimeout,
                                 message: "a frame did not arrive whole within \(milliseconds(configuration.frameTimeout)) ms"), close: true)
            self.logProtocolError("closing connection after a timeout", WireReason.frameTimeout)
            return
        }
        if self.calls.isEmpty, now - self.progress.lastFrame >= configuration.idleTimeout {
            self.goAway(RPCError(code: .unavailable, reason: WireReason.idleTimeout,
                                 message: "no frame for longer than \(milliseconds(configuration.idleTimeout)) ms"), close: true)
            return
        }
        self.scheduleTimeoutCheck(at: self.nextTimeoutCheck(now: now), on: eventLoop)
    }

    private func nextTimeoutCheck(now: NIODeadline) -> NIODeadline {
        let configuration = self.configuration
        var next = now + .nanoseconds(max(configuration.frameTimeout.nanoseconds / 2, 1_000_000))
        if let since = self.progress.partialSince { next = min(next, since + configuration.frameTimeout) }
        if !self.state.prefaceReceived { next = min(next, self.progress.opened + configuration.handshakeTimeout) }
        if self.calls.isEmpty { next = min(next, self.progress.lastFrame + configuration.idleTimeout) }
        return max(next, now + .milliseconds(1))
    }

    // MARK: Frames

    private func handle(frame: Frame) {
        guard self.state.prefaceReceived else { return }
        switch frame.type {
        case .request:
            self.startCall(frame)
        case .cancel:
            if let call = self.removeCall(frame.streamID) {
                call.task.cancel()
                call.metrics.record(code: .cancelled, nanoseconds: (NIODeadline.now() - call.started).nanoseconds)
                self.closeIfDrained()
            }
        case .ping:
            guard frame.payload.readableBytes <= 64 else {
                self.goAway(RPCError(code: .invalidArgument, reason: WireReason.unexpectedFrame, message: "PING payload above 64 bytes"), close: true)
                return
            }
            self.write(Frame(streamID: 0, type: .pong, payload: frame.payload))
        case .pong:
            break
        default:
            self.goAway(
                RPCError(code: .invalidArgument, reason: WireReason.unexpectedFrame, message: "a client may not send \(frame.type) frames"),
                close: true)
        }
    }

    private func startCall(_ frame: Frame) {
        let streamID = frame.streamID
        guard streamID != 0, self.calls[streamID] == nil else {
            self.goAway(
                RPCError(code: .invalidArgument, reason: WireReason.invalidStreamID,
                         message: streamID == 0 ? "REQUEST on stream 0" : "REQUEST on stream \(streamID), which is still in flight"),
                close: true)
            return
        }
        if self.state.isDraining {
            // Above the GOAWAY's last stream id: not processed, safe for the client to retry elsewhere.
            self.respond(streamID: streamID, method: "?", result: .failure(RPCError(
                code: .unavailable, reason: WireReason.draining, message: "the server is shutting down; retry on another connection")))
            return
        }
        self.highestStreamID = max(self.highestStreamID, streamID)

        let request: Framerpc_V1_Request
        do {
            request = try Framerpc_V1_Request(serializedBytes: Array(frame.payload.readableBytesView))
        } catch {
            var rpcError = RPCError(decoding: error, what: "request envelope")
            if rpcError.reason == WireReason.malformedMessage { rpcError.reason = WireReason.malformedEnvelope }
            self.respond(streamID: streamID, method: "?", result: .failure(rpcError))
            return
        }
        guard let method = self.router[request.method] else {
            self.respond(streamID: streamID, method: "?", result: .failure(RPCError(
                code: .unimplemented, reason: WireReason.methodNotFound,
                message: "no method \"\(request.method)\"; call /framerpc.v1.Reflection/ListMethods for the list")))
            return
        }
        if let immediate = method.immediate {
            let started = NIODeadline.now()
            let result = Result { () throws(RPCError) in try immediate(request.payload) }
            self.respond(streamID: streamID, metrics: self.metrics.method(method.name), result: result, started: started)
            return
        }
        guard self.calls.count < self.configuration.maxConcurrentCallsPerConnection else {
            self.respond(streamID: streamID, method: method.name, result: .failure(RPCError(
                code: .resourceExhausted, reason: WireReason.tooManyConcurrentCalls,
                message: "more than \(self.configuration.maxConcurrentCallsPerConnection) calls in flight on one connection")))
            return
        }
        guard self.admission.admit(mutating: method.mutating, exempt: method.name.hasPrefix("/framerpc.v1.Health/")) else {
            // Cheap to refuse: nothing decoded past the envelope, nothing queued.
            self.respond(streamID: streamID, method: method.name, result: .failure(RPCError(
                code: .resourceExhausted, reason: WireReason.overloaded,
                message: "the server has \(self.admission.limit) calls in flight (\(self.admission.writeLimit) for writes); retry shortly",
                details: ["retry_after_ms": "\(Self.retryAfterMillis)"])))
            return
        }
        self.launch(method: method, request: request, streamID: streamID)
    }

    /// Starts an admitted call; its slot is given back when the call is removed.
    private func launch(method: RPCMethod, request: Framerpc_V1_Request, streamID: UInt32) {
        guard let context = self.context else {
            self.admission.release()
            return
        }
        let now = NIODeadline.now()
        let deadline = request.deadline(from: now, maximum: self.configuration.maxDeadline)

        let serverContext = ServerContext(
            method: method.name, metadata: Metadata(request.metadata), deadline: deadline, connectionTag: self.connectionTag,
            streamID: streamID, connectionLogger: self.logger, remoteAddress: self.remoteAddress)

        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let payload = request.payload
        let body = method.handler
        let task = Task(executorPreference: self.executor) {
            let result: Result<[UInt8], any Error>
            do {
                result = .success(try await body(payload, serverContext))
            } catch {
                result = .failure(error)
            }
            eventLoop.execute { handler.value.finish(streamID: streamID, result: result, context: serverContext) }
        }
        self.calls[streamID] = Call(metrics: self.metrics.method(method.name), task: task, started: now, deadline: deadline)
        self.setDeadlineTimer(for: deadline, on: eventLoop)
    }

    /// How long a client refused as `OVERLOADED` is told to wait.
    static let retryAfterMillis = 50

    /// Forgets a call (answered, cancelled or expired) and gives its slot back.
    private func removeCall(_ streamID: UInt32) -> Call? {
        guard let call = self.calls.removeValue(forKey: streamID) else { return nil }
        self.admission.release()
        return call
    }

    private func setDeadlineTimer(for deadline: NIODeadline, on eventLoop: any EventLoop) {
        guard !self.deadlines.covers(deadline) else { return }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        self.deadlines.set(for: deadline, on: eventLoop) { handler.value.expireOverdueCalls() }
    }

    /// The deadline timer fired: answer every overdue call, then wait for the next deadline.
    private func expireOverdueCalls() {
        self.deadlines.fired()
        guard let eventLoop = self.context?.eventLoop else { return }
        let (overdue, next) = DeadlineTimer.sweep(self.calls) { $0.deadline }
        for streamID in overdue { self.expire(streamID: streamID) }
        if let next { self.setDeadlineTimer(for: next, on: eventLoop) }
    }

    private func finish(streamID: UInt32, result: Result<[UInt8], any Error>, context: ServerContext) {
        // Gone when the deadline already answered it, the client cancelled it, or the connection closed.
        guard let call = self.removeCall(streamID) else { return }
        let mapped: Result<[UInt8], RPCError> = result.mapError { error in
            if let convertible = error as? any RPCErrorConvertible { return convertible.rpcError }
            if error is CancellationError {
                return RPCError(code: .cancelled, reason: WireReason.cancelled, message: "the call was cancelled")
            }
            context.logger.error("handler failed with an unmapped error", metadata: ["error": "\(error)"])
            return RPCError(code: .internal, reason: WireReason.internalError, message: "internal error")
        }
        if case .failure(let error) = mapped {
            if self.logger.logLevel <= .debug {
                context.logger.debug("call failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
            }
        }
        self.respond(streamID: streamID, metrics: call.metrics, result: mapped, started: call.started)
        self.closeIfDrained()
    }

    private func expire(streamID: UInt32) {
        guard let call = self.removeCall(streamID) else { return }
        call.task.cancel()
        self.respond(streamID: streamID, metrics: call.metrics, result: .failure(RPCError(
            code: .deadlineExceeded, reason: WireReason.deadlineExceeded,
            message: "deadline exceeded; for a state-changing call the outcome is unknown: retry with the same idempotency key")),
            started: call.started)
        self.closeIfDrained()
    }

    // MARK: Writing

    private func respond(streamID: UInt32, method: String, result: Result<[UInt8], RPCError>) {
        self.respond(streamID: streamID, metrics: self.metrics.method(method), result: result, started: nil)
    }

    private func respond(streamID: UInt32, metrics: MethodMetrics, result: Result<[UInt8], RPCError>, started: NIODeadline?) {
        var response = Framerpc_V1_Response()
        let code: StatusCode
        switch result {
        case .success(let payload):
            response.status = .ok
            response.payload = Data(payload)
            code = .ok
        case .failure(let error):
            response.status = Framerpc_V1_Status(error)
            code = error.code
        }
        let bytes: [UInt8] = (try? response.serializedBytes()) ?? []
        self.write(streamID: streamID, type: .response, payload: bytes)
        let elapsed = started.map { (NIODeadline.now() - $0).nanoseconds } ?? 0
        metrics.record(code: code, nanoseconds: elapsed)
    }

    private func write(_ frame: Frame) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
        buffer.writeFrame(frame)
        self.enqueue(buffer, context: context)
    }

    private func write(streamID: UInt32, type: FrameType, payload: [UInt8]) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + payload.count)
        buffer.writeFrame(streamID: streamID, type: type, payload: payload)
        self.enqueue(buffer, context: context)
    }

    /// Writes now, flushes once at the end of this event-loop tick: many answers, one syscall.
    private func enqueue(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        context.write(Self.wrapOutboundOut(buffer), promise: nil)
        guard !self.flushPending else { return }
        self.flushPending = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = handler.value
            handler.flushPending = false
            handler.context?.flush()
        }
    }

    private func goAway(_ error: RPCError, close: Bool) {
        guard let context = self.context, !self.state.isClosing else { return }
        var goAway = Framerpc_V1_GoAway()
        goAway.lastStreamID = self.highestStreamID
        goAway.status = Framerpc_V1_Status(error)
        let bytes: [UInt8] = (try? goAway.serializedBytes()) ?? []
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + bytes.count)
        buffer.writeFrame(streamID: 0, type: .goAway, payload: bytes)
        if close {
            self.state = .closing
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    // MARK: Draining

    private func beginDrain() {
        guard self.state.beginDrain() else { return }
        self.goAway(
            RPCError(code: .unavailable, reason: WireReason.draining,
                     message: "the server is shutting down; calls up to the last stream id finish, later ones were not processed"),
            close: false)
        self.closeIfDrained()
    }

    private func closeIfDrained() {
        guard self.state.isDraining, self.calls.isEmpty, let context = self.context else { return }
        self.state = .closing
        context.flush()
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
