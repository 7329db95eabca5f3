import Foundation
import FrameRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SwiftProtobuf

/// One multiplexed FrameRPC connection: many calls in flight, answered in any order.
public final class RPCConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let health: ConnectionHealth
    private let nextStreamID = NIOLockedValueBox<UInt32>(1)
    /// Entries the server has for every call of this connection (its METADATA frame).
    private let declared: [(key: String, value: String)]

    private init(channel: any Channel, ready: ClientConnectionHandler.Ready, health: ConnectionHealth) {
        self.channel = channel
        self.handler = ready.handler
        self.declared = ready.declared
        self.health = health
    }

    /// Connects, exchanges prefaces, and returns once the server's preface has arrived.
    public static func connect(
        configuration: ClientConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
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
        let ready = eventLoop.makePromise(of: ClientConnectionHandler.Ready.self)
        let keepalive = TimeAmount(configuration.keepaliveInterval)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls = configuration.tls {
                        try sync.addHandler(
                            NIOSSLClientHandler(
                                context: tls.context,
                                serverHostname: tls.hostname(for: configuration.host)
                            )
                        )
                    }
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)))
                    try sync.addHandler(
                        ClientConnectionHandler(
                            ready: ready,
                            health: health,
                            keepaliveInterval: keepalive,
                            connectionMetadata: configuration.connectionMetadata
                        )
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            ready.fail(error)
            throw ClientFailure(
                kind: .notProcessed,
                error: RPCError(
                    code: .unavailable,
                    reason: WireReason.connectFailed,
                    message: "cannot connect to \(configuration.host):\(configuration.port): \(error)"
                )
            )
        }
        // A server that accepts but never sends its preface must not hold the caller: the handshake
        // gets the connect timeout too.
        let (host, port) = (configuration.host, configuration.port)
        let handshake = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            ready.fail(
                ClientFailure(
                    kind: .notProcessed,
                    error: RPCError(
                        code: .unavailable,
                        reason: WireReason.connectFailed,
                        message: "no FrameRPC preface from \(host):\(port) within \(configuration.connectTimeout)"
                    )
                )
            )
            channel.close(promise: nil)
        }
        do {
            let result = try await ready.futureResult.get()
            handshake.cancel()
            return RPCConnection(channel: channel, ready: result, health: health)
        } catch {
            handshake.cancel()
            try? await channel.close()
            throw error as? ClientFailure
                ?? ClientFailure(
                    kind: .notProcessed,
                    error: RPCError(
                        code: .unavailable,
                        reason: WireReason.connectFailed,
                        message: "handshake failed: \(error)"
                    )
                )
        }
    }

    /// Whether new calls may start here (no GOAWAY received, not closed).
    public var isUsable: Bool { self.health.unusableReason == nil && self.channel.isActive }

    /// Sends one call and waits for its answer.
    ///
    /// - Returns: the response message bytes.
    /// - Throws: ``RPCError`` with the server's status, or a transport status (`UNAVAILABLE`,
    ///   `DEADLINE_EXCEEDED`, `CANCELLED`).
    public func call(
        method: String,
        request: [UInt8],
        timeout: Duration,
        metadata: Metadata = Metadata()
    ) async throws -> [UInt8] {
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
        // A task cancelled already sends nothing. (One cancelled from another thread while its call
        // is being handed to the loop may have the CANCEL run first and find no call: that call
        // then ends with its answer or its deadline.)
        if Task.isCancelled { throw ClientFailure.cancelled(.notProcessed) }
        let streamID = self.nextStreamID.withLockedValue { id -> UInt32? in
            guard id < UInt32.max - 1 else { return nil }
            defer { id += 1 }
            return id
        }
        guard let streamID else {
            self.health.markUnusable(
                RPCError(code: .unavailable, reason: WireReason.connectionClosed, message: "stream ids exhausted")
            )
            throw ClientFailure(kind: .notProcessed, error: self.health.unusableReason!)
        }

        let micros = max(1, timeout.microseconds)
        var buffer = self.channel.allocator.buffer(capacity: Frame.headerSize + 32 + method.utf8.count + request.count)
        buffer.writeRequestFrame(
            streamID: streamID,
            method: method,
            payload: request,
            timeoutMicros: UInt64(micros),
            metadata: self.declared.isEmpty ? metadata.entries : self.undeclared(metadata)
        )
        let frame = buffer

        let deadline = NIODeadline.now() + .microseconds(micros)
        let (eventLoop, handler) = (self.channel.eventLoop, self.handler)
        // The handler is called on the connection's event loop: directly when the caller's task
        // already runs there (see ``FrameRPC/EventLoopTaskExecutor``), otherwise by a hop.
        let answer: ByteBuffer = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                if eventLoop.inEventLoop {
                    handler.value.start(
                        streamID: streamID,
                        frame: frame,
                        deadline: deadline,
                        continuation: continuation
                    )
                } else {
                    eventLoop.execute {
                        handler.value.start(
                            streamID: streamID,
                            frame: frame,
                            deadline: deadline,
                            continuation: continuation
                        )
                    }
                }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancel(streamID: streamID) }
        }

        let response: Framerpc_V1_Response
        do {
            response = try Framerpc_V1_Response(serializedBytes: ProtobufBytes(answer))
        } catch {
            throw ClientFailure(
                kind: .final,
                error: RPCError(
                    code: .internal,
                    reason: WireReason.malformedEnvelope,
                    message: "the server's answer is not a valid envelope"
                )
            )
        }
        if let error = response.status.rpcError {
            throw ClientFailure(kind: .final, error: error)
        }
        return Array(response.payload)
    }

    /// `metadata`'s entries but those the connection's METADATA frame already gave the server.
    private func undeclared(_ metadata: Metadata) -> [(key: String, value: String)] {
        metadata.entries.filter { entry in !self.declared.contains { $0.key == entry.key && $0.value == entry.value } }
    }

    public func close() async {
        try? await self.channel.close()
    }
}
