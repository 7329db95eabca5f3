import FrameRPC
import FrameRPCServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The same methods over HTTP/1.1 in the Connect protocol's unary form, on a port of its own:
/// `POST /commerce.v1.BalanceService/GetBalance` with `application/json` (proto3 JSON) or
/// `application/proto`, `Connect-Timeout-Ms` as the deadline, other headers as metadata, errors as
/// Connect's JSON error body; `GET` with the message in the query for methods without side effects.
/// It serves the router a FrameRPC server serves, behind the same access checks and the same
/// server-wide admission. Also answers fixed `GET` routes (the console page, the metrics).
public final class ConnectServer: Service, Sendable {
    /// The `domain` of the `google.rpc.ErrorInfo` in every error.
    public static let errorDomain = "commerce"

    private let channel: any Channel
    private let configuration: ConnectConfiguration
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    private let logger: Logger

    public var port: Int { self.channel.localAddress?.port ?? self.configuration.port }

    private init(
        channel: any Channel,
        configuration: ConnectConfiguration,
        connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>,
        logger: Logger
    ) {
        self.channel = channel
        self.configuration = configuration
        self.connections = connections
        self.logger = logger
    }

    /// Binds and serves `router`'s methods (Health and Reflection added), admitting calls through
    /// `admission` and counting request bodies still arriving against `partialBytes` (share the
    /// FrameRPC server's, for one server-wide bound each).
    public static func start(
        router: RPCRouter,
        configuration: ConnectConfiguration,
        admission: Admission,
        partialBytes: PartialFrameBudget = PartialFrameBudget(limit: 64 * 1024 * 1024),
        routes: [String: @Sendable () async -> StaticResponse] = [:],
        logger: Logger = Logger(label: "connect.server"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ConnectServer {
        let router = router.withBuiltins { false }
        let metrics = ServerMetrics(methods: router.methods.map(\.name))
        let evictionLog = LogLimiter()
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let admitted = connections.withLockedValue { open in
                    guard open.count < configuration.maxConnections else { return false }
                    open[ObjectIdentifier(channel)] = channel
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                // One ConnectHandler per request stream: per HTTP/1.1 connection, or per HTTP/2 stream.
                let answering: @Sendable (any Channel) -> EventLoopFuture<Void> = { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(
                            ConnectHandler(
                                router: router,
                                configuration: configuration,
                                admission: admission,
                                partialBytes: partialBytes,
                                routes: routes,
                                metrics: metrics,
                                logger: logger,
                                evictionLog: evictionLog
                            )
                        )
                    }
                }
                let http1: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
                    channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap { answering(channel) }
                }
                let http2: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
                    channel.configureHTTP2Pipeline(mode: .server) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                        }.flatMap { answering(stream) }
                    }.map { _ in () }
                }
                do {
                    // First, nearest the socket: it holds back every read while the connection waits
                    // for room after a refusal (pushback).
                    try channel.pipeline.syncOperations.addHandler(ReadGate(admission: admission))
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                if let tls = configuration.tls {
                    // ALPN picks HTTP/2 or HTTP/1.1.
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return channel.configureCommonHTTPServerPipeline { stream in answering(stream) }
                }
                // Plaintext: HTTP/2 with prior knowledge, or HTTP/1.1, told apart by the first bytes.
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTPVersionDetector(http1: http1, http2: http2))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let server = ConnectServer(
            channel: channel,
            configuration: configuration,
            connections: connections,
            logger: logger
        )
        logger.info(
            "Connect (HTTP) server listening",
            metadata: ["address": "http://\(configuration.host):\(server.port)", "methods": "\(router.methods.count)"]
        )
        return server
    }

    /// Serves until a graceful shutdown, then drains: stops accepting, closes idle connections,
    /// and lets calls in flight answer (up to the drain timeout).
    public func run() async throws {
        try? await gracefulShutdown()
        await self.shutdownGracefully()
    }

    public func shutdownGracefully() async {
        try? await self.channel.close()
        let open = self.connections.withLockedValue { Array($0.values) }
        // NIO's own quiescing: HTTP/1.1 closes after the response in flight, HTTP/2 sends GOAWAY and
        // closes once its open streams end.
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let closed = EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: self.channel.eventLoop)
        let drainTimeout = self.configuration.drainTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await closed.get() }
            group.addTask { try? await Task.sleep(for: .nanoseconds(drainTimeout.nanoseconds)) }
            await group.next()
            group.cancelAll()
        }
        for channel in self.connections.withLockedValue({ Array($0.values) }) { try? await channel.close() }
        self.logger.info("Connect (HTTP) server drained")
    }
}
