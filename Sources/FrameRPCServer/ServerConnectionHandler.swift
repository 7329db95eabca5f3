import Foundation
import FrameRPC
import Logging
import Metrics
import NIOCore
import NIOSSL
import SwiftProtobuf

/// Asks a connection to drain: send GOAWAY, take no new calls, close once the calls in flight end.
struct DrainEvent: Sendable {}

/// Serves the calls of one connection. Runs on the channel's event loop and never blocks it:
/// each call's handler runs in its own task — a read's on this same event loop (no thread hop for
/// the common lookup; handlers must not block, storage work hops to Dispatch queues), a write's on
/// the global executor (it waits for a commit anyway, and under a write flood the loop stays free
/// to read, answer health checks and refuse) — and its answer is written from the loop.
///
/// Calls are independent: they are answered in whatever order they finish, matched by stream id.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoder.Event
    typealias OutboundOut = ByteBuffer

    struct Call {
        let metrics: MethodMetrics
        let task: Task<Void, Never>
        let started: NIODeadline
        let deadline: NIODeadline
    }

    let router: RPCRouter
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    var logger: Logger

    var context: ChannelHandlerContext?
    var calls: [UInt32: Call] = [:]
    /// Set for the earliest deadline of the calls in flight.
    var deadlines = DeadlineTimer()
    /// When bytes and whole frames last arrived, for the handshake, frame and idle timeouts.
    let progress: ReadProgress
    /// Shared by the server's connections: protocol errors and timeouts are logged a few at a time.
    let protocolErrors: LogLimiter
    /// Shared by the server's connections: the server-wide bound on calls in flight.
    let admission: Admission
    var timeoutCheck: Scheduled<Void>?
    var highestStreamID: UInt32 = 0
    var state = ConnectionState.awaitingPreface(draining: false)
    var flushPending = false
    /// First in the pipeline: holds back reads after a refusal for load (pushback) and, by itself,
    /// while the client does not read its answers.
    let gate: ReadGate
    var remoteAddress = "?"
    var executor: EventLoopTaskExecutor?
    /// Entries of the last METADATA frame: every later call carries those its request lacks.
    var connectionMetadata: [(key: String, value: String)] = []
    /// Prefix of the request ids this connection makes up for calls that bring none.
    let connectionTag = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    init(
        router: RPCRouter,
        configuration: ServerConfiguration,
        metrics: ServerMetrics,
        logger: Logger,
        progress: ReadProgress,
        protocolErrors: LogLimiter,
        admission: Admission,
        gate: ReadGate
    ) {
        self.admission = admission
        self.gate = gate
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
        buffer.writePreface(Preface(flags: Preface.acceptsConnectionMetadata))
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
                    RPCError(
                        code: .unimplemented,
                        reason: WireReason.unsupportedVersion,
                        message:
                            "protocol version \(preface.version) is not supported; this server speaks \(Preface.currentVersion)"
                    ),
                    close: true
                )
                return
            }
            self.state.prefaceArrived()

        case .oversizeFrame(let header):
            let error = RPCError(
                code: .resourceExhausted,
                reason: WireReason.frameTooLarge,
                message: "frame of \(header.length) bytes exceeds the limit of \(self.configuration.maxFrameSize) bytes"
            )
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
            self.goAway(
                RPCError(
                    code: .resourceExhausted,
                    reason: WireReason.partialFrameBudget,
                    message: "the server holds too many bytes of unfinished frames; this connection held the most"
                ),
                close: true
            )
            self.logProtocolError(
                "closing the connection holding the most bytes of unfinished frames",
                WireReason.partialFrameBudget
            )
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers written while reading — health checks, refusals, malformed requests — leave now,
        // not after the tasks this read queued on the loop.
        if self.flushPending { context.flush() }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? FrameDecodingError {
            if error == .badPreface && !self.state.prefaceReceived {
                // Not a FrameRPC peer: say so in plain text, which any client can show.
                var buffer = context.channel.allocator.buffer(capacity: 96)
                buffer.writeString(
                    "FRPC BAD_PREFACE: this is a FrameRPC server; send the preface \"FRPC\\0\\1\\0\\0\" first\n"
                )
                self.state = .closing
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                self.goAway(
                    RPCError(code: .invalidArgument, reason: error.reason, message: error.description),
                    close: true
                )
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
    func logProtocolError(_ message: Logger.Message, _ detail: String) {
        guard let suppressed = self.protocolErrors.admit() else { return }
        var metadata: Logger.Metadata = ["error": "\(detail)"]
        if suppressed > 0 { metadata["suppressed_before"] = "\(suppressed)" }
        self.logger.info(message, metadata: metadata)
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
