import CommercePostgres
import CommerceSQLite
import CommerceService
import CommerceUseCases
import FrameRPCConnect
import FrameRPCServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The composition root: opens the store, wires the use cases to their queues and the services
/// to the router, and binds the FrameRPC listener. What then runs until shutdown — the expiry
/// sweeper, the outbox relay, the listener, and the store's closing — are swift-service-lifecycle
/// services in one `ServiceGroup`, which a graceful shutdown stops in reverse order: stop accepting
/// and finish the calls in flight, stop the sweeper, let the relay finish its pass, then close the
/// store and the event loops the server owns.
///
/// All of it is structured: ``run(_:logger:httpRoutes:alongside:gracefulShutdownSignals:onStarted:)``
/// opens the store (PostgreSQL's connection pool a child task of it), runs the group, and returns
/// once everything it started has stopped.
public final class CommerceServer: Sendable {
    /// The SQLite store, or the PostgreSQL one when ``CommerceServerConfiguration/postgres`` is set.
    public let store: any ServedStore
    /// The store, if it is the SQLite one (its file, its checkpointer).
    public var sqlite: SQLiteStore? { self.store as? SQLiteStore }
    /// The use cases the RPCs run (the expiry sweep among them).
    public let useCases: CommerceUseCases
    private let rpc: RPCServer
    /// The HTTP (Connect) listener, if ``CommerceServerConfiguration/http`` is set.
    private let http: ConnectServer?
    /// Who calls: verifies tokens with keys ``reload(keys:)`` can replace.
    public let gate: Gate
    /// What runs until shutdown, in start order (a graceful shutdown stops them in reverse): the
    /// store's closing, the relay, the sweeper, the memory watch; then the listeners, which stop first.
    private let background: [any Service]
    private let listeners: [any Service]
    private let logger: Logger
    /// The group the parts run in, for ``shutdownGracefully()``.
    private let group = NIOLockedValueBox<ServiceGroup?>(nil)
    /// The task ``start(_:logger:httpRoutes:)`` runs the server in.
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    public var port: Int { self.rpc.port }
    /// The HTTP (Connect) port, if it listens.
    public var httpPort: Int? { self.http?.port }
    public var openConnections: Int { self.rpc.openConnections }
    /// Calls admitted and not yet answered, over both listeners.
    public var callsInFlight: Int { self.rpc.callsInFlight }

    private init(
        gate: Gate,
        store: any ServedStore,
        useCases: CommerceUseCases,
        rpc: RPCServer,
        http: ConnectServer?,
        background: [any Service],
        logger: Logger
    ) {
        self.useCases = useCases
        self.logger = logger
        self.store = store
        self.rpc = rpc
        self.http = http
        self.gate = gate
        self.background = background
        self.listeners = [rpc] + (http.map { [$0] } ?? [])
    }

    /// Opens the store, binds the listeners (calls are answered from there on) and calls
    /// `onStarted`; then runs `services` (a metrics endpoint, a span exporter: they start first
    /// and stop last, so they see everything the rest does), the sweeper, the relay and the
    /// listeners as one `ServiceGroup`, until a graceful shutdown (`signals`,
    /// ``shutdownGracefully()``, or the group this runs in) has stopped them all in reverse order and
    /// closed the store.
    ///
    /// - Parameter httpRoutes: fixed answers to `GET`s on the HTTP port (the console, the metrics).
    public static func run(
        _ configuration: CommerceServerConfiguration,
        logger: Logger = Logger(label: "commerce.server"),
        httpRoutes: [String: @Sendable () async -> StaticResponse] = [:],
        alongside services: [any Service] = [],
        gracefulShutdownSignals signals: [UnixSignal] = [],
        onStarted: (CommerceServer) async throws -> Void = { _ in }
    ) async throws {
        try await withServedStore(sqlite: configuration.store, postgres: configuration.postgres, logger: logger) {
            store in
            let server = try await Self.make(configuration, store: store, logger: logger, httpRoutes: httpRoutes)
            let group = server.group(alongside: services, gracefulShutdownSignals: signals)
            server.group.withLockedValue { $0 = group }
            do {
                try await onStarted(server)
            } catch {
                await group.triggerGracefulShutdown()
                try? await group.run()
                throw error
            }
            try await group.run()
        }
    }

    /// Wires `store` to the use cases and the router and binds the listeners; the rest starts with
    /// the group. Closes what it opened if it fails (the store stays open: its opener closes it).
    private static func make(
        _ configuration: CommerceServerConfiguration,
        store: any ServedStore,
        logger: Logger,
        httpRoutes: [String: @Sendable () async -> StaticResponse]
    ) async throws -> CommerceServer {
        let useCases = CommerceUseCases(
            store: store,
            queues: WorkQueues(shards: configuration.writeQueueShards, tracer: configuration.tracer),
            policy: configuration.policy,
            clock: configuration.clock,
            calendar: store.calendar,
            rankingCacheMillis: configuration.rankingCacheMillis,
            pendingOrderTTLMillis: configuration.pendingOrderTTLMillis
        )
        // Tokens expire by the real clock, not the shop's (which tests move).
        let gate = Gate(mode: configuration.auth, adminToken: configuration.adminToken, clock: systemClock)
        if case .off = configuration.auth {
            logger.warning("authentication is off (--auth off): anyone who reaches the port acts for any user")
        }
        var router = CommerceServices.router(useCases: useCases, gate: gate)
        if let tracer = configuration.tracer { router = router.traced(by: CallTracing(tracer: tracer)) }
        // Everything that can fail is set up before the listener opens: nothing after it throws, so
        // a failed start leaves no socket or event loop behind.
        let sink: (DataPlatformTarget, any EventSink)? = try configuration.dataPlatform.map { target in
            switch target {
            case .http(let url, let eventsPerPost):
                (
                    target,
                    HTTPEventSink(
                        url: url,
                        timeout: .seconds(5),
                        eventsPerPost: min(max(eventsPerPost, 1), DataPlatformTarget.maximumEventsPerPost),
                        tracer: configuration.tracer
                    )
                )
            case .file(let path): (target, try FileEventSink(path: path))
            }
        }
        let ownGroup = configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) }
        // One bound on calls in flight, and one on bytes of requests still arriving (frames and HTTP
        // bodies), whichever listener they came through.
        let admission = Admission(limit: configuration.rpc.maxCallsInFlight)
        let partialBytes = PartialFrameBudget(limit: configuration.rpc.maxBufferedPartialBytes)
        let rpc: RPCServer
        var http: ConnectServer?
        do {
            rpc = try await RPCServer.start(
                router: router,
                configuration: configuration.rpc,
                logger: logger,
                group: ownGroup ?? MultiThreadedEventLoopGroup.singleton,
                admission: admission,
                partialBytes: partialBytes
            )
            if let httpConfiguration = configuration.http {
                do {
                    http = try await ConnectServer.start(
                        router: router,
                        configuration: httpConfiguration,
                        admission: admission,
                        partialBytes: partialBytes,
                        routes: httpRoutes,
                        logger: logger,
                        group: ownGroup ?? MultiThreadedEventLoopGroup.singleton
                    )
                } catch {
                    try? await rpc.shutdownGracefully()
                    throw error
                }
            }
        } catch {
            await sink?.1.close()
            try? await ownGroup?.shutdownGracefully()
            throw error
        }
        let memory = MemoryReleaser { await store.releaseMemory() }
        let sweeper = ExpirySweeper(
            useCases: useCases,
            interval: .milliseconds(max(10, configuration.expirySweepMillis)),
            timeZone: "\(store.calendar)",
            logger: logger
        )
        // As often as the sweep, but not behind its writes.
        let memoryWatch = MemoryWatch(
            releaser: memory,
            interval: .milliseconds(max(10, configuration.expirySweepMillis))
        ) { (rpc.callsInFlight, rpc.takeHighestCallsInFlight()) }
        var relay: DataPlatformRelay?
        if let (target, sink) = sink {
            relay = DataPlatformRelay(
                store: store,
                sink: sink,
                clock: configuration.clock,
                logger: logger,
                pollInterval: .milliseconds(max(5, configuration.relayPollMillis)),
                leaseMillis: max(100, configuration.relayLeaseMillis),
                retentionMillis: configuration.outboxRetentionMillis.map { max(0, $0) }
            )
            logger.info("data platform relay configured", metadata: ["target": "\(target)"])
        }
        let closer = StoreCloser(store: store, ownGroup: ownGroup, logger: logger)
        var background: [any Service] = [closer] + (relay.map { [$0] } ?? []) + [sweeper, memoryWatch]
        if configuration.workerNiceness > 0,
            let loops = try? await WorkerPriority.threads(of: ownGroup ?? MultiThreadedEventLoopGroup.singleton)
        {
            background.append(
                WorkerPriority(
                    niceness: Int32(configuration.workerNiceness),
                    loopThreads: loops,
                    interval: .seconds(1),
                    logger: logger
                )
            )
        }
        return CommerceServer(
            gate: gate,
            store: store,
            useCases: useCases,
            rpc: rpc,
            http: http,
            background: background,
            logger: logger
        )
    }

    /// ``run(_:logger:httpRoutes:alongside:gracefulShutdownSignals:onStarted:)`` in a task of its
    /// own (with `services` alongside), returned once the server answers calls; stopped by
    /// ``shutdownGracefully()``. For tests
    /// and programs that embed the server; the command line runs `run` itself.
    public static func start(
        _ configuration: CommerceServerConfiguration,
        logger: Logger = Logger(label: "commerce.server"),
        httpRoutes: [String: @Sendable () async -> StaticResponse] = [:],
        alongside services: [any Service] = []
    ) async throws -> CommerceServer {
        let started = OneShot<CommerceServer>()
        let task = Task {
            do {
                try await Self.run(configuration, logger: logger, httpRoutes: httpRoutes, alongside: services) {
                    started.succeed($0)
                }
            } catch {
                started.fail(error)
                throw error
            }
        }
        let server = try await started.value
        server.task.withLockedValue { $0 = task }
        return server
    }

    private func group(alongside services: [any Service], gracefulShutdownSignals signals: [UnixSignal]) -> ServiceGroup
    {
        let parts = services + self.background + self.listeners
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: parts.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: signals,
                logger: self.logger
            )
        )
    }

    /// GOAWAY to every client, finish calls in flight, stop the sweeper and the relay, close the
    /// store; for a server from ``start(_:logger:httpRoutes:)``, returns when all of it is done (a
    /// server from `run` is done when `run` returns).
    public func shutdownGracefully() async throws {
        await self.group.withLockedValue { $0 }?.triggerGracefulShutdown()
        try await self.task.withLockedValue { $0 }?.value
    }
}
