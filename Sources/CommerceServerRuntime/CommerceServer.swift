import CommercePostgres
import CommerceService
import CommerceSQLite
import CommerceUseCases
import FrameRPCServer
import Logging
import NIOCore
import NIOPosix

/// The composition root: opens the store, wires the use cases to their queues and the services
/// to the router, and starts the FrameRPC server.
public final class CommerceServer: Sendable {
    /// The SQLite store, or the PostgreSQL one when ``CommerceServerConfiguration/postgres`` is set.
    public let store: any ServedStore
    /// The store, if it is the SQLite one (its file, its checkpointer).
    public var sqlite: SQLiteStore? { self.store as? SQLiteStore }
    /// The use cases the RPCs run (the expiry sweep among them).
    public let useCases: CommerceUseCases
    private let rpc: RPCServer
    /// Who calls: verifies tokens with keys ``reload(keys:)`` can replace.
    public let gate: Gate
    private let sweeper: Task<Void, Never>
    private let relay: Task<Void, Never>?
    /// The event loops the server owns (``CommerceServerConfiguration/eventLoopThreads``), if any.
    private let ownGroup: MultiThreadedEventLoopGroup?
    private let logger: Logger

    public var port: Int { self.rpc.port }
    public var openConnections: Int { self.rpc.openConnections }

    private init(
        gate: Gate, store: any ServedStore, useCases: CommerceUseCases, rpc: RPCServer, sweeper: Task<Void, Never>, relay: Task<Void, Never>?,
        ownGroup: MultiThreadedEventLoopGroup?, logger: Logger
    ) {
        self.useCases = useCases
        self.logger = logger
        self.ownGroup = ownGroup
        self.relay = relay
        self.store = store
        self.rpc = rpc
        self.gate = gate
        self.sweeper = sweeper
    }

    public static func start(
        _ configuration: CommerceServerConfiguration, logger: Logger = Logger(label: "commerce.server")
    ) async throws -> CommerceServer {
        let store: any ServedStore =
            if let postgres = configuration.postgres { try await PostgresStore.open(postgres, logger: logger) } else { try SQLiteStore(configuration.store) }
        let useCases = CommerceUseCases(
            store: store,
            queues: WorkQueues(shards: configuration.writeQueueShards), policy: configuration.policy, clock: configuration.clock,
            calendar: store.calendar, rankingCacheMillis: configuration.rankingCacheMillis, pendingOrderTTLMillis: configuration.pendingOrderTTLMillis)
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
                (target, HTTPEventSink(url: url, timeout: .seconds(5), eventsPerPost: min(max(eventsPerPost, 1), DataPlatformTarget.maximumEventsPerPost)))
            case .file(let path): (target, try FileEventSink(path: path))
            }
        }
        let ownGroup = configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) }
        let rpc: RPCServer
        do {
            rpc = try await RPCServer.start(
                router: router, configuration: configuration.rpc, logger: logger,
                group: ownGroup ?? MultiThreadedEventLoopGroup.singleton)
        } catch {
            await sink?.1.close()
            try? await ownGroup?.shutdownGracefully()
            await store.close()
            throw error
        }
        // Unpaid two-step orders expire by themselves: every instance sweeps, the guarded status
        // change makes each expiry happen once.
        let interval = Duration.milliseconds(max(10, configuration.expirySweepMillis))
        let memory = MemoryReleaser()
        let sweeper = Task {
            while !Task.isCancelled {
                memory.observe(callsInFlight: rpc.callsInFlight)
                do {
                    let expired = try await useCases.expireOrders()
                    if expired > 0 { logger.info("expired unpaid orders", metadata: ["count": "\(expired)"]) }
                    // After the shop's midnight, the first sweep of any instance takes the day's ranking snapshot.
                    if try await useCases.takeRankingSnapshot() {
                        logger.info("took the ranking snapshot", metadata: ["time_zone": "\(store.calendar)"])
                    }
                } catch {
                    logger.warning("order expiry sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        var relay: Task<Void, Never>?
        if let (target, sink) = sink {
            let relayer = DataPlatformRelay(
                store: store, sink: sink, clock: configuration.clock, logger: logger,
                pollInterval: .milliseconds(max(5, configuration.relayPollMillis)), leaseMillis: max(100, configuration.relayLeaseMillis))
            relay = Task {
                await relayer.run()
                await sink.close()
            }
            logger.info("data platform relay running", metadata: ["target": "\(target)"])
        }
        return CommerceServer(gate: gate, store: store, useCases: useCases, rpc: rpc, sweeper: sweeper, relay: relay, ownGroup: ownGroup, logger: logger)
    }

    /// GOAWAY to every client, finish calls in flight, close.
    public func shutdownGracefully() async throws {
        self.sweeper.cancel()
        self.relay?.cancel()
        await self.sweeper.value
        self.logger.debug("expiry sweeper stopped")
        await self.relay?.value
        self.logger.debug("outbox relay stopped")
        try await self.rpc.shutdownGracefully()
        try await self.ownGroup?.shutdownGracefully()
        await self.store.close()
        let commits = self.store.groupCommitStatistics
        self.logger.notice("group commit", metadata: [
            "transactions": "\(commits.batches)", "writes": "\(commits.writes)",
            "writes_per_transaction": "\(commits.batches == 0 ? 0 : Double(commits.writes) / Double(commits.batches))",
            "commit_cpu_us_per_write": "\(commits.writes == 0 ? 0 : Int(commits.busySeconds * 1e6 / Double(commits.writes)))",
            "commit_wall_us_per_write": "\(commits.writes == 0 ? 0 : Int(commits.wallSeconds * 1e6 / Double(commits.writes)))",
            "replayed_transactions": "\(commits.replays)",
            "abandoned_writes": "\(commits.abandoned)",
        ])
    }
}
