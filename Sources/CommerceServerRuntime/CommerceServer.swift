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
/// services in one `ServiceGroup` (``run(alongside:gracefulShutdownSignals:)``), which a graceful
/// shutdown stops in reverse order: stop accepting and finish the calls in flight, stop the sweeper,
/// let the relay finish its pass, then close the store and the event loops the server owns.
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
    /// store's closing, the relay, the sweeper; then the listeners, which stop first.
    private let background: [any Service]
    private let listeners: [any Service]
    private let logger: Logger
    /// The group ``start(_:logger:)`` runs the parts in, for ``shutdownGracefully()``.
    private let launched = NIOLockedValueBox<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)

    public var port: Int { self.rpc.port }
    /// The HTTP (Connect) port, if it listens.
    public var httpPort: Int? { self.http?.port }
    public var openConnections: Int { self.rpc.openConnections }

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

    /// Opens the store and binds the listener (calls are answered from here on); the sweeper and
    /// the relay start with ``run(alongside:gracefulShutdownSignals:)``.
    ///
    /// - Parameter httpRoutes: fixed answers to `GET`s on the HTTP port (the console, the metrics).
    public static func make(
        _ configuration: CommerceServerConfiguration,
        logger: Logger = Logger(label: "commerce.server"),
        httpRoutes: [String: @Sendable () async -> StaticResponse] = [:]
    ) async throws -> CommerceServer {
        let store: any ServedStore =
            if let postgres = configuration.postgres { try await PostgresStore.open(postgres, logger: logger) } else {
                try SQLiteStore(configuration.store)
            }
        let useCases = CommerceUseCases(
            store: store,
            queues: WorkQueues(shards: configuration.writeQueueShards),
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
        let router = CommerceServices.router(useCases: useCases, gate: gate)
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
                        eventsPerPost: min(max(eventsPerPost, 1), DataPlatformTarget.maximumEventsPerPost)
                    )
                )
            case .file(let path): (target, try FileEventSink(path: path))
            }
        }
        let ownGroup = configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) }
        // One bound on calls in flight, whichever listener they came through.
        let admission = Admission(limit: configuration.rpc.maxCallsInFlight)
        let rpc: RPCServer
        var http: ConnectServer?
        do {
            rpc = try await RPCServer.start(
                router: router,
                configuration: configuration.rpc,
                logger: logger,
                group: ownGroup ?? MultiThreadedEventLoopGroup.singleton,
                admission: admission
            )
            if let httpConfiguration = configuration.http {
                do {
                    http = try await ConnectServer.start(
                        router: router,
                        configuration: httpConfiguration,
                        admission: admission,
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
            await store.close()
            throw error
        }
        let memory = MemoryReleaser()
        let sweeper = ExpirySweeper(
            useCases: useCases,
            interval: .milliseconds(max(10, configuration.expirySweepMillis)),
            timeZone: "\(store.calendar)",
            logger: logger
        ) { memory.observe(callsInFlight: rpc.callsInFlight) }
        var relay: DataPlatformRelay?
        if let (target, sink) = sink {
            relay = DataPlatformRelay(
                store: store,
                sink: sink,
                clock: configuration.clock,
                logger: logger,
                pollInterval: .milliseconds(max(5, configuration.relayPollMillis)),
                leaseMillis: max(100, configuration.relayLeaseMillis)
            )
            logger.info("data platform relay configured", metadata: ["target": "\(target)"])
        }
        let closer = StoreCloser(store: store, ownGroup: ownGroup, logger: logger)
        let background: [any Service] = [closer] + (relay.map { [$0] } ?? []) + [sweeper]
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

    /// ``make(_:logger:)`` and its parts running in a group of their own, stopped by
    /// ``shutdownGracefully()``: for tests and programs that embed the server. The command line
    /// runs ``run(alongside:gracefulShutdownSignals:)`` instead.
    public static func start(
        _ configuration: CommerceServerConfiguration,
        logger: Logger = Logger(label: "commerce.server"),
        httpRoutes: [String: @Sendable () async -> StaticResponse] = [:]
    ) async throws -> CommerceServer {
        let server = try await Self.make(configuration, logger: logger, httpRoutes: httpRoutes)
        let group = server.group(alongside: [], gracefulShutdownSignals: [])
        server.launched.withLockedValue { $0 = (group, Task { try await group.run() }) }
        return server
    }

    /// Runs the parts, and `services` (a metrics endpoint) after the relay and before the
    /// listener, as one `ServiceGroup` until a graceful shutdown (`signals`, or the group this runs
    /// in) has stopped them all in reverse order.
    public func run(
        alongside services: [any Service] = [],
        gracefulShutdownSignals signals: [UnixSignal] = []
    ) async throws {
        try await self.group(alongside: services, gracefulShutdownSignals: signals).run()
    }

    private func group(alongside services: [any Service], gracefulShutdownSignals signals: [UnixSignal]) -> ServiceGroup
    {
        let parts = self.background + services + self.listeners
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: parts.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: signals,
                logger: self.logger
            )
        )
    }

    /// For a server from ``start(_:logger:)``: GOAWAY to every client, finish calls in flight,
    /// stop the sweeper and the relay, close the store; returns when all of it is done.
    public func shutdownGracefully() async throws {
        guard let (group, task) = self.launched.withLockedValue({ $0 }) else {
            preconditionFailure(
                "shutdownGracefully() stops a server from start(); one from make() stops with its group"
            )
        }
        await group.triggerGracefulShutdown()
        try await task.value
    }
}
