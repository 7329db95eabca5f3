import FrameRPC
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// A FrameRPC server: SwiftNIO sockets, one ``ServerConnectionHandler`` per connection. It serves
/// from ``start(router:configuration:logger:group:)`` on; as a swift-service-lifecycle `Service`
/// its ``run()`` returns after a graceful shutdown has drained it.
///
/// ```swift
/// let server = try await RPCServer.start(router: router, configuration: config)
/// // ... server.port
/// try await server.shutdownGracefully()   // GOAWAY, finish calls in flight, close
/// ```
public final class RPCServer: Service, Sendable {
    private let channel: any Channel
    private let registry: ConnectionRegistry
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let shutdownPromise: EventLoopPromise<Void>
    private let admission: Admission

    /// The port the server listens on (useful with port 0).
    public let port: Int

    private init(
        channel: any Channel,
        registry: ConnectionRegistry,
        configuration: ServerConfiguration,
        logger: Logger,
        admission: Admission
    ) {
        self.admission = admission
        self.channel = channel
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.port = channel.localAddress?.port ?? configuration.port
        self.shutdownPromise = channel.eventLoop.makePromise()
    }

    /// Binds and starts serving `router`'s methods plus the built-in Health and Reflection services.
    /// `admission` and `partialBytes`, when given, are shared with the server's other listeners (one
    /// server-wide bound each); otherwise they come from `configuration`.
    public static func start(
        router: RPCRouter,
        configuration: ServerConfiguration,
        logger: Logger = Logger(label: "framerpc.server"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        admission: Admission? = nil,
        partialBytes: PartialFrameBudget? = nil
    ) async throws -> RPCServer {
        let registry = ConnectionRegistry()
        let frameSizes = FrameSizes()
        let loops = max(1, group.makeIterator().reduce(0) { count, _ in count + 1 })
        let router = router.withBuiltins { registry.isDraining }
        let metrics = ServerMetrics(methods: router.methods.map(\.name))
        let protocolErrors = LogLimiter()
        // Shared with other listeners of the same server (HTTP) for one server-wide bound.
        let admission = admission ?? Admission(limit: configuration.maxCallsInFlight)
        let partialFrames = partialBytes ?? PartialFrameBudget(limit: configuration.maxBufferedPartialBytes)

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    guard registry.admit(channel, limit: configuration.maxConnections) else {
                        let reason = registry.isDraining ? WireReason.draining : WireReason.tooManyConnections
                        let code: StatusCode = registry.isDraining ? .unavailable : .resourceExhausted
                        try sync.addHandler(
                            RefuseConnectionHandler(
                                error: RPCError(
                                    code: code,
                                    reason: reason,
                                    message: registry.isDraining
                                        ? "the server is shutting down"
                                        : "the server is at its limit of \(configuration.maxConnections) connections"
                                )
                            )
                        )
                        return
                    }
                    metrics.connections.record(registry.count)
                    channel.closeFuture.whenComplete { _ in
                        registry.remove(channel)
                        metrics.connections.record(registry.count)
                    }
                    // First, nearest the socket, so TLS cannot read past it.
                    let gate = ReadGate(admission: admission)
                    try sync.addHandler(gate)
                    if let tls = configuration.tls {
                        try sync.addHandler(PlaintextRefusalHandler())
                        try sync.addHandler(NIOSSLServerHandler(context: tls.context))
                    }
                    let progress = ReadProgress()
                    progress.frameSizes = frameSizes
                    try channel.syncOptions?.setOption(
                        .recvAllocator,
                        value: FairShareReads(
                            bytesPerTurn: configuration.readBytesPerTurn,
                            callsPerTurn: configuration.readCallsPerTurn,
                            loops: loops,
                            registry: registry,
                            frameSizes: frameSizes,
                            progress: NIOLoopBound(progress, eventLoop: channel.eventLoop)
                        )
                    )
                    try sync.addHandler(ReadProgressHandler(progress: progress, budget: partialFrames))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)))
                    try sync.addHandler(
                        ServerConnectionHandler(
                            router: router,
                            configuration: configuration,
                            metrics: metrics,
                            logger: logger,
                            progress: progress,
                            protocolErrors: protocolErrors,
                            admission: admission,
                            gate: gate
                        )
                    )
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let server = RPCServer(
            channel: channel,
            registry: registry,
            configuration: configuration,
            logger: logger,
            admission: admission
        )
        logger.info(
            "FrameRPC server listening",
            metadata: [
                "address": "\(configuration.host):\(server.port)", "methods": "\(router.methods.count)",
            ]
        )
        return server
    }

    public var openConnections: Int { self.registry.count }

    /// Calls admitted and not yet answered, across every connection.
    public var callsInFlight: Int { self.admission.current }

    /// The most calls in flight at once since the last time this was taken (``Admission/takeHighest()``).
    public func takeHighestCallsInFlight() -> Int { self.admission.takeHighest() }

    /// Stops accepting, sends GOAWAY on every connection, lets calls in flight finish (up to the
    /// drain timeout), then closes what is left. Safe to call more than once.
    public func shutdownGracefully() async throws {
        let channels = self.registry.beginDraining()
        self.logger.info("draining", metadata: ["connections": "\(channels.count)"])
        try? await self.channel.close()
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        // Each connection closes itself once its last call is answered: wait for the last one, or
        // for the drain timeout.
        let registry = self.registry
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await registry.drained() }
            group.addTask { try? await Task.sleep(for: .nanoseconds(self.configuration.drainTimeout.nanoseconds)) }
            await group.next()
            group.cancelAll()
        }
        let stragglers = self.registry.beginDraining()
        for channel in stragglers {
            try? await channel.close()
        }
        self.shutdownPromise.succeed()
        self.logger.info("drained", metadata: ["forced": "\(stragglers.count)"])
    }

    /// Serves until the service group shuts down gracefully (or this task is cancelled), then drains.
    public func run() async throws {
        try? await gracefulShutdown()
        try await self.shutdownGracefully()
    }

    /// Completes once ``shutdownGracefully()`` has finished.
    public func waitUntilShutDown() async {
        try? await self.shutdownPromise.futureResult.get()
    }
}

/// Sends the server preface and a GOAWAY explaining why, then closes.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let error: RPCError

    init(error: RPCError) { self.error = error }

    /// A preface and a GOAWAY carrying `error`: all a refused connection gets.
    static func refusal(_ error: RPCError, allocator: ByteBufferAllocator) -> ByteBuffer {
        var goAway = Framerpc_V1_GoAway()
        goAway.status = Framerpc_V1_Status(error)
        let payload: [UInt8] = (try? goAway.serializedBytes()) ?? []
        var buffer = allocator.buffer(capacity: Preface.size + Frame.headerSize + payload.count)
        buffer.writePreface(Preface())
        buffer.writeFrame(streamID: 0, type: .goAway, payload: payload)
        return buffer
    }

    func channelActive(context: ChannelHandlerContext) {
        let buffer = Self.refusal(self.error, allocator: context.channel.allocator)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

@available(*, unavailable)
extension RefuseConnectionHandler: Sendable {}
