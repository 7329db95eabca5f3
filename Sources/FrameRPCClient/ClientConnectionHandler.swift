import FrameRPC
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf

/// What a caller asks a connection to do; sent down the pipeline from any thread.
enum ClientCommand {
    /// `frame` is an encoded REQUEST frame for `streamID`.
    case call(streamID: UInt32, frame: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<ByteBuffer>)
    case cancel(streamID: UInt32)
}

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
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = FrameDecoder.Event
    typealias OutboundIn = ClientCommand
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<ByteBuffer>
        let deadline: NIODeadline
    }

    private var pending: [UInt32: Pending] = [:]
    /// Set for the earliest deadline of the calls in flight.
    private var deadlines = DeadlineTimer()
    private let ready: EventLoopPromise<Void>
    private let health: ConnectionHealth
    private var context: ChannelHandlerContext?
    private var sawPreface = false
    private var flushPending = false

    init(ready: EventLoopPromise<Void>, health: ConnectionHealth) {
        self.ready = ready
        self.health = health
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: Preface.size)
        buffer.writePreface(Preface())
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let failure = ClientFailure.closed()
        self.health.markUnusable(failure.error)
        self.ready.fail(failure)
        self.failAll(failure) { _ in true }
        self.deadlines.cancel()
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .call(let streamID, let frame, let deadline, let callPromise):
            if let reason = self.health.unusableReason {
                callPromise.fail(ClientFailure(kind: .notProcessed, error: reason))
                promise?.succeed()
                return
            }
            self.pending[streamID] = Pending(promise: callPromise, deadline: deadline)
            self.setDeadlineTimer(for: deadline, on: context.eventLoop)
            context.write(Self.wrapOutboundOut(frame), promise: promise)
        case .cancel(let streamID):
            guard let call = self.pending.removeValue(forKey: streamID) else {
                promise?.succeed()
                return
            }
            call.promise.fail(ClientFailure(kind: .final, error: RPCError(
                code: .cancelled, reason: WireReason.cancelled, message: "the call was cancelled by the client")))
            self.writeFrame(streamID: streamID, type: .cancel, payload: [], context: context, promise: promise)
        }
    }

    /// Flushes once at the end of this event-loop tick: calls started together (say, by the answers
    /// of one read) leave in one write syscall instead of one each.
    func flush(context: ChannelHandlerContext) {
        guard !self.flushPending else { return }
        self.flushPending = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushPending = false
            handler.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .preface(let preface):
            guard preface.version == Preface.currentVersion else {
                let error = RPCError(code: .unimplemented, reason: WireReason.unsupportedVersion,
                                     message: "server speaks protocol version \(preface.version), this client \(Preface.currentVersion)")
                self.ready.fail(ClientFailure(kind: .notProcessed, error: error))
                context.close(promise: nil)
                return
            }
            self.sawPreface = true
            self.ready.succeed()
        case .oversizeFrame(let header):
            // The answer is lost; the stream stays in sync because the payload is skipped.
            if let call = self.pending.removeValue(forKey: header.streamID) {
                call.promise.fail(ClientFailure(kind: .final, error: RPCError(
                    code: .resourceExhausted, reason: WireReason.frameTooLarge,
                    message: "the answer of \(header.length) bytes exceeds this client's limit")))
            }
        case .frame(let frame):
            self.handle(frame, context: context)
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.type {
        case .response:
            guard let call = self.pending.removeValue(forKey: frame.streamID) else { return }  // expired or cancelled
            call.promise.succeed(frame.payload)
        case .ping:
            self.writeFrame(streamID: 0, type: .pong, payload: Array(frame.payload.readableBytesView), context: context, promise: nil)
        case .goAway:
            let goAway = (try? Framerpc_V1_GoAway(serializedBytes: Array(frame.payload.readableBytesView))) ?? Framerpc_V1_GoAway()
            let error = goAway.status.rpcError
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
            failure = ClientFailure(kind: .connectionLost, error: RPCError(code: .unavailable, reason: error.reason, message: error.description))
        } else {
            failure = ClientFailure.closed("connection error: \(error)")
        }
        self.health.markUnusable(failure.error)
        self.ready.fail(failure)
        self.failAll(failure) { _ in true }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .write {
            self.writeFrame(streamID: 0, type: .ping, payload: [0, 0, 0, 0, 0, 0, 0, 0], context: context, promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
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
        call.promise.fail(ClientFailure(kind: .final, error: RPCError(
            code: .deadlineExceeded, reason: WireReason.deadlineExceeded,
            message: "no answer before the deadline; for a state-changing call the outcome is unknown")))
        self.writeFrame(streamID: streamID, type: .cancel, payload: [], context: context, promise: nil)
    }

    private func failAll(_ failure: ClientFailure, where predicate: (UInt32) -> Bool) {
        for (streamID, call) in self.pending where predicate(streamID) {
            self.pending.removeValue(forKey: streamID)
            call.promise.fail(failure)
        }
    }

    private func writeFrame(streamID: UInt32, type: FrameType, payload: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + payload.count)
        buffer.writeFrame(streamID: streamID, type: type, payload: payload)
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: promise)
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
