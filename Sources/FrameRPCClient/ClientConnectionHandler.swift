import Foundation
import FrameRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import SwiftProtobuf

/// Shared between a connection's handler (writer) and its callers (readers).
final class ConnectionHealth: Sendable {
    private let state = NIOLockedValueBox<RPCError?>(nil)

    /// The reason no new call may start here, once the server sent GOAWAY or the connection closed.
    var unusableReason: RPCError? { self.state.withLockedValue { $0 } }

    func markUnusable(_ error: RPCError) {
        self.state.withLockedValue { if $0 == nil { $0 = error } }
    }
}

/// Matches answers to calls by stream id; enforces client-side deadlines; sends keepalive PINGs.
///
/// ``RPCConnection`` starts and cancels calls by calling this handler directly on the connection's
/// event loop (``start(streamID:frame:deadline:continuation:)``, ``cancel(streamID:)``): a call's
/// answer resumes its caller's continuation, with no future, promise or callback in between.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FrameDecoder.Event
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let continuation: UnsafeContinuation<ByteBuffer, any Error>
        let deadline: NIODeadline
    }

    private var pending: [UInt32: Pending] = [:]
    /// Set for the earliest deadline of the calls in flight.
    private var deadlines = DeadlineTimer()
    /// What a connection's callers learn once the server's preface has arrived.
    struct Ready: Sendable {
        let handler: NIOLoopBound<ClientConnectionHandler>
        /// The entries sent in a METADATA frame: every call of the connection carries them.
        let declared: [(key: String, value: String)]
    }

    /// Succeeded once the server's preface has arrived (and the METADATA frame, if any, is written).
    private let ready: EventLoopPromise<Ready>
    private let connectionMetadata: Metadata
    private let health: ConnectionHealth
    private let keepaliveInterval: TimeAmount
    private var keepalive: RepeatedTask?
    /// Whether anything was written since the last keepalive tick.
    private var wrote = false
    private var context: ChannelHandlerContext?
    private var sawPreface = false
    private var flushPending = false

    init(
        ready: EventLoopPromise<Ready>,
        health: ConnectionHealth,
        keepaliveInterval: TimeAmount,
        connectionMetadata: Metadata = Metadata()
    ) {
        self.ready = ready
        self.connectionMetadata = connectionMetadata
        self.health = health
        self.keepaliveInterval = keepaliveInterval
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.keepalive?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Preface.size)
        buffer.writePreface(Preface())
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        // A PING after a keepalive interval without writing, so the server's idle timeout does
        // not close a connection the client keeps for later.
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.keepalive = context.eventLoop.scheduleRepeatedTask(
            initialDelay: self.keepaliveInterval,
            delay: self.keepaliveInterval
        ) { _ in
            loopBound.value.keepaliveTick()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let failure = ClientFailure.closed()
        self.health.markUnusable(failure.error)
        self.ready.fail(failure)
        self.failAll(failure) { _ in true }
        self.deadlines.cancel()
        self.keepalive?.cancel()
        context.fireChannelInactive()
    }

    /// Sends the REQUEST `frame` of `streamID` and resumes `continuation` with the answer's payload,
    /// or with a ``ClientFailure``. On the event loop only.
    func start(
        streamID: UInt32,
        frame: ByteBuffer,
        deadline: NIODeadline,
        continuation: UnsafeContinuation<ByteBuffer, any Error>
    ) {
        guard let context = self.context else {
            continuation.resume(throwing: ClientFailure.closed("the connection is closed"))
            return
        }
        if let reason = self.health.unusableReason {
            continuation.resume(throwing: ClientFailure(kind: .notProcessed, error: reason))
            return
        }
        self.pending[streamID] = Pending(continuation: continuation, deadline: deadline)
        self.setDeadlineTimer(for: deadline, on: context.eventLoop)
        context.write(Self.wrapOutboundOut(frame), promise: nil)
        self.wrote = true
        self.flushAtEndOfTick()
    }

    /// Ends the call of `streamID` as cancelled and tells the server, if it is still in flight.
    /// On the event loop only.
    func cancel(streamID: UInt32) {
        guard let context = self.context, let call = self.pending.removeValue(forKey: streamID) else { return }
        call.continuation.resume(throwing: ClientFailure.cancelled(.final))
        self.writeFrame(streamID: streamID, type: .cancel, payload: [], context: context)
    }

    /// Flushes once at the end of this event-loop tick: calls started together (say, by the answers
    /// of one read) leave in one write syscall instead of one each.
    private func flushAtEndOfTick() {
        guard !self.flushPending, let eventLoop = self.context?.eventLoop else { return }
        self.flushPending = true
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            let handler = loopBound.value
            handler.flushPending = false
            handler.context?.flush()
        }
    }

    private func keepaliveTick() {
        defer { self.wrote = false }
        guard !self.wrote, let context = self.context else { return }
        self.writeFrame(streamID: 0, type: .ping, payload: [0, 0, 0, 0, 0, 0, 0, 0], context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .preface(let preface):
            guard preface.version == Preface.currentVersion else {
                let error = RPCError(
                    code: .unimplemented,
                    reason: WireReason.unsupportedVersion,
                    message: "server speaks protocol version \(preface.version), this client \(Preface.currentVersion)"
                )
                self.ready.fail(ClientFailure(kind: .notProcessed, error: error))
                context.close(promise: nil)
                return
            }
            self.sawPreface = true
            // Written before any call can be: every REQUEST of the connection comes after it.
            var declared: [(key: String, value: String)] = []
            if preface.flags & Preface.acceptsConnectionMetadata != 0 && !self.connectionMetadata.isEmpty {
                var message = Framerpc_V1_ConnectionMetadata()
                message.metadata = self.connectionMetadata.keyValues
                if let payload: [UInt8] = try? message.serializedBytes() {
                    self.writeFrame(streamID: 0, type: .metadata, payload: payload, context: context)
                    declared = self.connectionMetadata.entries
                }
            }
            self.ready.succeed(Ready(handler: NIOLoopBound(self, eventLoop: context.eventLoop), declared: declared))
        case .oversizeFrame(let header):
            // The answer is lost; the stream stays in sync because the payload is skipped.
            if let call = self.pending.removeValue(forKey: header.streamID) {
                call.continuation.resume(
                    throwing: ClientFailure(
                        kind: .final,
                        error: RPCError(
                            code: .resourceExhausted,
                            reason: WireReason.frameTooLarge,
                            message: "the answer of \(header.length) bytes exceeds this client's limit"
                        )
                    )
                )
            }
        case .frame(let frame):
            self.handle(frame, context: context)
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.type {
        case .response:
            guard let call = self.pending.removeValue(forKey: frame.streamID) else { return }  // expired or cancelled
            call.continuation.resume(returning: frame.payload)
        case .ping:
            self.writeFrame(streamID: 0, type: .pong, payload: Array(frame.payload.readableBytesView), context: context)
        case .goAway:
            let goAway =
                (try? Framerpc_V1_GoAway(serializedBytes: Array(frame.payload.readableBytesView)))
                ?? Framerpc_V1_GoAway()
            let error =
                goAway.status.rpcError
                ?? RPCError(code: .unavailable, reason: WireReason.connectionClosed, message: "the server sent GOAWAY")
            self.health.markUnusable(error)
            // Calls above the last stream id were not processed: they may go elsewhere.
            self.failAll(ClientFailure(kind: .notProcessed, error: error)) { $0 > goAway.lastStreamID }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: ClientFailure
        if let error = error as? FrameDecodingError {
            failure = ClientFailure(
                kind: .connectionLost,
                error: RPCError(code: .unavailable, reason: error.reason, message: error.description)
            )
        } else if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            // Before the handshake completes nothing was sent: the call may go elsewhere.
            failure = ClientFailure(
                kind: .notProcessed,
                error: RPCError(
                    code: .unavailable,
                    reason: WireReason.tlsHandshakeFailed,
                    message: "TLS failed: \(error)"
                )
            )
        } else {
            failure = ClientFailure.closed("connection error: \(error)")
        }
        self.health.markUnusable(failure.error)
        self.ready.fail(failure)
        self.failAll(failure) { _ in true }
        context.close(promise: nil)
    }

    private func setDeadlineTimer(for deadline: NIODeadline, on eventLoop: any EventLoop) {
        guard !self.deadlines.covers(deadline) else { return }
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        self.deadlines.set(for: deadline, on: eventLoop) { loopBound.value.expireOverdueCalls() }
    }

    /// The deadline timer fired: fail every overdue call, then wait for the next deadline.
    private func expireOverdueCalls() {
        self.deadlines.fired()
        guard let eventLoop = self.context?.eventLoop else { return }
        let (overdue, next) = DeadlineTimer.sweep(self.pending) { $0.deadline }
        for streamID in overdue { self.expire(streamID: streamID) }
        if let next { self.setDeadlineTimer(for: next, on: eventLoop) }
    }

    private func expire(streamID: UInt32) {
        guard let call = self.pending.removeValue(forKey: streamID), let context = self.context else { return }
        call.continuation.resume(
            throwing: ClientFailure(
                kind: .final,
                error: RPCError(
                    code: .deadlineExceeded,
                    reason: WireReason.deadlineExceeded,
                    message: "no answer before the deadline; for a state-changing call the outcome is unknown"
                )
            )
        )
        self.writeFrame(streamID: streamID, type: .cancel, payload: [], context: context)
    }

    private func failAll(_ failure: ClientFailure, where predicate: (UInt32) -> Bool) {
        for (streamID, call) in self.pending where predicate(streamID) {
            self.pending.removeValue(forKey: streamID)
            call.continuation.resume(throwing: failure)
        }
    }

    private func writeFrame(streamID: UInt32, type: FrameType, payload: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + payload.count)
        buffer.writeFrame(streamID: streamID, type: type, payload: payload)
        self.wrote = true
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
