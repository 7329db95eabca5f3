import Foundation
import FrameRPC
import NIOCore
import SwiftProtobuf

/// Writing answers and GOAWAYs (flushed once per read burst), and draining.
extension ServerConnectionHandler {
    // MARK: Writing

    func respond(streamID: UInt32, method: String, result: Result<[UInt8], RPCError>) {
        self.respond(streamID: streamID, metrics: self.metrics.method(method), result: result, started: nil)
    }

    func respond(streamID: UInt32, metrics: MethodMetrics, result: Result<[UInt8], RPCError>, started: NIODeadline?) {
        let code: StatusCode
        switch result {
        case .success(let payload):
            // The common answer goes straight into the frame, without building the envelope.
            if let context = self.context {
                var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + 8 + payload.count)
                buffer.writeSuccessResponseFrame(streamID: streamID, payload: payload)
                self.enqueue(buffer, context: context)
            }
            code = .ok
        case .failure(let error):
            var response = Framerpc_V1_Response()
            response.status = Framerpc_V1_Status(error)
            let bytes: [UInt8] = (try? response.serializedBytes()) ?? []
            self.write(streamID: streamID, type: .response, payload: bytes)
            code = error.code
        }
        let elapsed = started.map { (NIODeadline.now() - $0).nanoseconds } ?? 0
        metrics.record(code: code, nanoseconds: elapsed)
    }

    func write(_ frame: Frame) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
        buffer.writeFrame(frame)
        self.enqueue(buffer, context: context)
    }

    func write(streamID: UInt32, type: FrameType, payload: [UInt8]) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + payload.count)
        buffer.writeFrame(streamID: streamID, type: type, payload: payload)
        self.enqueue(buffer, context: context)
    }

    /// Writes now, flushes once at the end of this event-loop tick: many answers, one syscall.
    func enqueue(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
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

    func goAway(_ error: RPCError, close: Bool) {
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

    func beginDrain() {
        guard self.state.beginDrain() else { return }
        self.goAway(
            RPCError(
                code: .unavailable,
                reason: WireReason.draining,
                message:
                    "the server is shutting down; calls up to the last stream id finish, later ones were not processed"
            ),
            close: false
        )
        self.closeIfDrained()
    }

    func closeIfDrained() {
        guard self.state.isDraining, self.calls.isEmpty, let context = self.context else { return }
        self.state = .closing
        context.flush()
        context.close(promise: nil)
    }
}
