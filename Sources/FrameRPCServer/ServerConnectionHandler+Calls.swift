import Foundation
import FrameRPC
import Logging
import Metrics
import NIOCore
import SwiftProtobuf

/// Frames and calls: admission, launching a call as a task on the loop, deadlines, answers.
extension ServerConnectionHandler {
    /// Health probes are never refused for load: they measure the server, not its queue.
    static let healthPrefix = "/\(Framerpc_V1_Health.name)/"

    // MARK: Frames

    func handle(frame: Frame) {
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
                self.goAway(
                    RPCError(
                        code: .invalidArgument,
                        reason: WireReason.unexpectedFrame,
                        message: "PING payload above 64 bytes"
                    ),
                    close: true
                )
                return
            }
            self.write(Frame(streamID: 0, type: .pong, payload: frame.payload))
        case .pong:
            break
        case .metadata:
            self.setConnectionMetadata(frame)
        default:
            self.goAway(
                RPCError(
                    code: .invalidArgument,
                    reason: WireReason.unexpectedFrame,
                    message: "a client may not send \(frame.type) frames"
                ),
                close: true
            )
        }
    }

    /// A METADATA frame: its entries replace the connection's. Anything else than a small, valid
    /// `ConnectionMetadata` of allowed keys on stream 0 ends the connection: a client that gets it
    /// wrong would otherwise have every later call refused for a missing credential.
    func setConnectionMetadata(_ frame: Frame) {
        func refuse(_ message: String) {
            self.goAway(
                RPCError(code: .invalidArgument, reason: WireReason.invalidConnectionMetadata, message: message),
                close: true
            )
        }
        guard frame.streamID == 0 else { return refuse("METADATA on stream \(frame.streamID); it belongs on stream 0") }
        guard frame.payload.readableBytes <= ConnectionMetadata.maxPayload else {
            return refuse("METADATA of \(frame.payload.readableBytes) bytes; at most \(ConnectionMetadata.maxPayload)")
        }
        let message: Framerpc_V1_ConnectionMetadata
        do {
            message = try Framerpc_V1_ConnectionMetadata(serializedBytes: ProtobufBytes(frame.payload))
        } catch {
            return refuse("METADATA payload is not a valid framerpc.v1.ConnectionMetadata")
        }
        let entries = Metadata(message.metadata).entries
        if let stray = entries.first(where: { !ConnectionMetadata.allowedKeys.contains($0.key) }) {
            return refuse(
                "METADATA may set \(ConnectionMetadata.allowedKeys.sorted().joined(separator: ", ")), not \"\(stray.key)\""
            )
        }
        Self.metadataFrames.increment()
        self.connectionMetadata = entries
    }

    static let metadataFrames = Counter(label: "rpc_server_connection_metadata_frames_total")

    func startCall(_ frame: Frame) {
        let streamID = frame.streamID
        guard streamID != 0, self.calls[streamID] == nil else {
            self.goAway(
                RPCError(
                    code: .invalidArgument,
                    reason: WireReason.invalidStreamID,
                    message: streamID == 0
                        ? "REQUEST on stream 0" : "REQUEST on stream \(streamID), which is still in flight"
                ),
                close: true
            )
            return
        }
        if self.state.isDraining {
            // Above the GOAWAY's last stream id: not processed, safe for the client to retry elsewhere.
            self.respond(
                streamID: streamID,
                method: "?",
                result: .failure(
                    RPCError(
                        code: .unavailable,
                        reason: WireReason.draining,
                        message: "the server is shutting down; retry on another connection"
                    )
                )
            )
            return
        }
        self.highestStreamID = max(self.highestStreamID, streamID)

        let request: Framerpc_V1_Request
        do {
            request = try Framerpc_V1_Request(serializedBytes: ProtobufBytes(frame.payload))
        } catch {
            var rpcError = RPCError(decoding: error, what: "request envelope")
            if rpcError.reason == WireReason.malformedMessage { rpcError.reason = WireReason.malformedEnvelope }
            self.respond(streamID: streamID, method: "?", result: .failure(rpcError))
            return
        }
        guard let method = self.router[request.method] else {
            self.respond(
                streamID: streamID,
                method: "?",
                result: .failure(
                    RPCError(
                        code: .unimplemented,
                        reason: WireReason.methodNotFound,
                        message:
                            "no method \"\(request.method)\"; call /framerpc.v1.Reflection/ListMethods for the list"
                    )
                )
            )
            return
        }
        if let immediate = method.immediate {
            let started = NIODeadline.now()
            let result = Result { () throws(RPCError) in try immediate(request.payload) }
            self.respond(
                streamID: streamID,
                metrics: self.metrics.method(method.name),
                result: result,
                started: started
            )
            return
        }
        guard self.calls.count < self.configuration.maxConcurrentCallsPerConnection else {
            self.respond(
                streamID: streamID,
                method: method.name,
                result: .failure(
                    RPCError(
                        code: .resourceExhausted,
                        reason: WireReason.tooManyConcurrentCalls,
                        message:
                            "more than \(self.configuration.maxConcurrentCallsPerConnection) calls in flight on one connection"
                    )
                )
            )
            return
        }
        guard self.admission.admit(mutating: method.mutating, exempt: method.name.hasPrefix(Self.healthPrefix)) else {
            // Cheap to refuse: nothing decoded past the envelope, nothing queued.
            self.respond(
                streamID: streamID,
                method: method.name,
                result: .failure(
                    RPCError(
                        code: .resourceExhausted,
                        reason: WireReason.overloaded,
                        message:
                            "the server has \(self.admission.limit) calls in flight (\(self.admission.writeLimit) for writes); retry shortly",
                        details: ["retry_after_ms": "\(Self.retryAfterMillis)"]
                    )
                )
            )
            // Pushback: this connection is not read again until the server has room.
            self.gate.waitForRoom()
            return
        }
        self.launch(method: method, request: request, streamID: streamID)
    }

    /// Starts an admitted call; its slot is given back when the call is removed.
    func launch(method: RPCMethod, request: Framerpc_V1_Request, streamID: UInt32) {
        guard let context = self.context else {
            self.admission.release()
            return
        }
        let now = NIODeadline.now()
        let deadline = request.deadline(from: now, maximum: self.configuration.maxDeadline)

        let serverContext = ServerContext(
            method: method.name,
            metadata: ConnectionMetadata.merge(
                connection: self.connectionMetadata,
                request: Metadata(request.metadata)
            ),
            deadline: deadline,
            connectionTag: self.connectionTag,
            streamID: streamID,
            connectionLogger: self.logger,
            remoteAddress: self.remoteAddress
        )

        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        // A write's task off the loop: with it there, a write flood's tasks filled every turn of the
        // loop and a health probe waited 300 ms and more (benchmarks/README.md, session 23).
        let executor = method.mutating ? nil : self.executor
        let task = method.start(request.payload, serverContext, executor: executor, on: eventLoop) { result in
            handler.value.finish(streamID: streamID, result: result, context: serverContext)
        }
        self.calls[streamID] = Call(
            metrics: self.metrics.method(method.name),
            task: task,
            started: now,
            deadline: deadline
        )
        self.setDeadlineTimer(for: deadline, on: eventLoop)
    }

    /// How long a client refused as `OVERLOADED` is told to wait.
    static let retryAfterMillis = 50

    /// Forgets a call (answered, cancelled or expired) and gives its slot back.
    func removeCall(_ streamID: UInt32) -> Call? {
        guard let call = self.calls.removeValue(forKey: streamID) else { return nil }
        self.admission.release()
        return call
    }

    func setDeadlineTimer(for deadline: NIODeadline, on eventLoop: any EventLoop) {
        guard !self.deadlines.covers(deadline) else { return }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        self.deadlines.set(for: deadline, on: eventLoop) { handler.value.expireOverdueCalls() }
    }

    /// The deadline timer fired: answer every overdue call, then wait for the next deadline.
    func expireOverdueCalls() {
        self.deadlines.fired()
        guard let eventLoop = self.context?.eventLoop else { return }
        let (overdue, next) = DeadlineTimer.sweep(self.calls) { $0.deadline }
        for streamID in overdue { self.expire(streamID: streamID) }
        if let next { self.setDeadlineTimer(for: next, on: eventLoop) }
    }

    func finish(streamID: UInt32, result: Result<[UInt8], any Error>, context: ServerContext) {
        // Gone when the deadline already answered it, the client cancelled it, or the connection closed.
        guard let call = self.removeCall(streamID) else { return }
        let mapped: Result<[UInt8], RPCError> = result.mapError { RPCError.answering($0, logger: context.logger) }
        if case .failure(let error) = mapped {
            if self.logger.logLevel <= .debug {
                context.logger.debug("call failed", metadata: ["code": "\(error.code)", "reason": "\(error.reason)"])
            }
        }
        self.respond(streamID: streamID, metrics: call.metrics, result: mapped, started: call.started)
        self.closeIfDrained()
    }

    func expire(streamID: UInt32) {
        guard let call = self.removeCall(streamID) else { return }
        call.task.cancel()
        self.respond(
            streamID: streamID,
            metrics: call.metrics,
            result: .failure(
                RPCError(
                    code: .deadlineExceeded,
                    reason: WireReason.deadlineExceeded,
                    message:
                        "deadline exceeded; for a state-changing call the outcome is unknown: retry with the same idempotency key"
                )
            ),
            started: call.started
        )
        self.closeIfDrained()
    }
}
