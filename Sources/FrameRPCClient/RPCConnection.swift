import FrameRPC
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf

/// One multiplexed FrameRPC connection: many calls in flight, answered in any order.
public final class RPCConnection: Sendable {
    private let channel: any Channel
    private let health: ConnectionHealth
    private let nextStreamID = NIOLockedValueBox<UInt32>(1)

    private init(channel: any Channel, health: ConnectionHealth) {
        self.channel = channel
        self.health = health
    }

    /// Connects, exchanges prefaces, and returns once the server's preface has arrived.
    public static func connect(
        configuration: ClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCConnection {
        do {
            return try await self.open(configuration: configuration, group: group)
        } catch let failure as ClientFailure {
            throw failure.error
        }
    }

    static func open(configuration: ClientConfiguration, group: any EventLoopGroup) async throws -> RPCConnection {
        let health = ConnectionHealth()
        let eventLoop = group.next()
        let ready = eventLoop.makePromise(of: Void.self)
        let keepalive = configuration.keepaliveInterval.timeAmount
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(writeTimeout: keepalive))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)))
                    try sync.addHandler(ClientConnectionHandler(ready: ready, health: health))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            ready.fail(error)
            throw ClientFailure(kind: .notProcessed, error: RPCError(
                code: .unavailable, reason: WireReason.connectFailed,
                message: "cannot connect to \(configuration.host):\(configuration.port): \(error)"))
        }
        do {
            try await ready.futureResult.get()
        } catch {
            try? await channel.close()
            throw error as? ClientFailure ?? ClientFailure(kind: .notProcessed, error: RPCError(
                code: .unavailable, reason: WireReason.connectFailed, message: "handshake failed: \(error)"))
        }
        return RPCConnection(channel: channel, health: health)
    }

    /// Whether new calls may start here (no GOAWAY received, not closed).
    public var isUsable: Bool { self.health.unusableReason == nil && self.channel.isActive }

    /// Sends one call and waits for its answer.
    ///
    /// - Returns: the response message bytes.
    /// - Throws: ``RPCError`` with the server's status, or a transport status (`UNAVAILABLE`,
    ///   `DEADLINE_EXCEEDED`, `CANCELLED`).
    public func call(method: String, request: [UInt8], timeout: Duration, metadata: Metadata = Metadata()) async throws -> [UInt8] {
        do {
            return try await self.send(method: method, request: request, timeout: timeout, metadata: metadata)
        } catch let failure as ClientFailure {
            throw failure.error
        }
    }

    func send(method: String, request: [UInt8], timeout: Duration, metadata: Metadata) async throws -> [UInt8] {
        if let reason = self.health.unusableReason {
            throw ClientFailure(kind: .notProcessed, error: reason)
        }
        let streamID = self.nextStreamID.withLockedValue { id -> UInt32? in
            guard id < UInt32.max - 1 else { return nil }
            defer { id += 1 }
            return id
        }
        guard let streamID else {
            self.health.markUnusable(RPCError(code: .unavailable, reason: WireReason.connectionClosed, message: "stream ids exhausted"))
            throw ClientFailure(kind: .notProcessed, error: self.health.unusableReason!)
        }

        var envelope = Framerpc_V1_Request()
        envelope.method = method
        envelope.payload = Data(request)
        let micros = max(1, timeout.microseconds)
        envelope.timeoutMicros = UInt64(micros)
        envelope.metadata = metadata.keyValues
        let bytes: [UInt8] = try envelope.serializedBytes()
        var frame = self.channel.allocator.buffer(capacity: Frame.headerSize + bytes.count)
        frame.writeFrame(streamID: streamID, type: .request, payload: bytes)

        let promise = self.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let deadline = NIODeadline.now() + .microseconds(micros)
        let channel = self.channel
        let answer: ByteBuffer = try await withTaskCancellationHandler {
            channel.writeAndFlush(ClientCommand.call(streamID: streamID, frame: frame, deadline: deadline, promise: promise))
                .whenFailure { error in promise.fail(ClientFailure(kind: .notProcessed, error: RPCError(
                    code: .unavailable, reason: WireReason.connectionClosed, message: "could not send: \(error)"))) }
            return try await promise.futureResult.get()
        } onCancel: {
            channel.writeAndFlush(ClientCommand.cancel(streamID: streamID), promise: nil)
        }

        let response: Framerpc_V1_Response
        do {
            response = try Framerpc_V1_Response(serializedBytes: Array(answer.readableBytesView))
        } catch {
            throw ClientFailure(kind: .final, error: RPCError(
                code: .internal, reason: WireReason.malformedEnvelope, message: "the server's answer is not a valid envelope"))
        }
        if let error = response.status.rpcError {
            throw ClientFailure(kind: .final, error: error)
        }
        return Array(response.payload)
    }

    public func close() async {
        try? await self.channel.close()
    }
}
