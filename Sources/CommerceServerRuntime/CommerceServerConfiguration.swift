import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceService
import CommerceUseCases
import Foundation
import FrameRPCConnect
import FrameRPCServer
import Tracing

/// Everything `commerce-server serve` can be told.
public struct CommerceServerConfiguration: Sendable {
    public var rpc: ServerConfiguration
    /// The same methods over HTTP (the Connect protocol) on a port of its own, if set.
    public var http: ConnectConfiguration?
    public var store: StoreConfiguration
    /// A PostgreSQL database instead of the SQLite file in ``store`` (whose other settings then do
    /// not apply): for instances on several hosts.
    public var postgres: PostgresStoreConfiguration?
    /// How callers are identified: tokens signed by these keys, or (explicitly) not at all.
    public var auth: AuthMode
    /// A static credential for the admin calls, besides tokens with the admin scope (a bootstrap:
    /// the first operator's way in); `nil`: none.
    public var adminToken: String?
    /// Shards of the per-user and per-product write queues.
    public var writeQueueShards: Int
    public var policy: BalancePolicy
    /// Wall-clock time in Unix ms, for every timestamp and validity window; tests move it.
    public var clock: @Sendable () -> UnixMillis
    /// How long a TopProducts answer is reused, in ms (0 = never).
    public var rankingCacheMillis: Int64
    /// How long a two-step order may stay unpaid, in ms.
    public var pendingOrderTTLMillis: Int64
    /// How often unpaid orders past their time are expired, in ms.
    public var expirySweepMillis: Int64
    /// Where paid orders and refunds are sent; nil: no relay runs (events stay in the outbox).
    public var dataPlatform: DataPlatformTarget?
    /// How often the relay looks for new events when idle, in ms.
    public var relayPollMillis: Int64
    /// How long the relay's lease lasts unless renewed (each pass renews it), in ms: after a crash,
    /// another instance (or this one restarted) takes over the delivery this long after the last pass.
    public var relayLeaseMillis: Int64
    /// How long a delivered event stays in the outbox, in ms (nil: for ever): the database grows
    /// with the orders, not with their delivery history.
    public var outboxRetentionMillis: Int64?
    /// Event loop threads of a group of the server's own; nil shares NIO's singleton group (one
    /// thread per core), as the tests' in-process servers do.
    public var eventLoopThreads: Int?
    /// How many nice steps below the process's priority its threads other than the event loops
    /// run (``WorkerPriority``); 0 leaves every thread alone, as embedders and tests do.
    public var workerNiceness: Int
    /// Where spans go: each call's, its use case's, its store write's and group commit's, and the
    /// relay's deliveries (docs/observability.md); nil: nothing is traced, at no cost.
    public var tracer: (any Tracer)?

    public init(
        rpc: ServerConfiguration = ServerConfiguration(),
        store: StoreConfiguration,
        auth: AuthMode,
        adminToken: String? = nil,
        writeQueueShards: Int = 128,
        policy: BalancePolicy = .standard,
        clock: @escaping @Sendable () -> UnixMillis = systemClock,
        rankingCacheMillis: Int64 = 1_000,
        pendingOrderTTLMillis: Int64 = 24 * 3_600_000,
        expirySweepMillis: Int64 = 1_000,
        dataPlatform: DataPlatformTarget? = nil,
        relayPollMillis: Int64 = 50,
        relayLeaseMillis: Int64 = 60_000,
        outboxRetentionMillis: Int64? = 7 * 24 * 3_600_000,
        eventLoopThreads: Int? = nil,
        workerNiceness: Int = 0
    ) {
        self.workerNiceness = workerNiceness
        self.outboxRetentionMillis = outboxRetentionMillis
        self.relayLeaseMillis = relayLeaseMillis
        self.eventLoopThreads = eventLoopThreads
        self.dataPlatform = dataPlatform
        self.relayPollMillis = relayPollMillis
        self.pendingOrderTTLMillis = pendingOrderTTLMillis
        self.expirySweepMillis = expirySweepMillis
        self.rankingCacheMillis = rankingCacheMillis
        self.clock = clock
        self.rpc = rpc
        self.store = store
        self.auth = auth
        self.adminToken = adminToken
        self.writeQueueShards = writeQueueShards
        self.policy = policy
    }
}

extension CommerceServerConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// The settings without their secrets (the admin token, keys, a database password), for logs.
    public var description: String {
        let database = self.postgres.map { Redacted.url($0.url) } ?? self.store.path
        return
            "CommerceServerConfiguration(rpc: \(self.rpc.host):\(self.rpc.port), http: \(self.http.map { "\($0.host):\($0.port)" } ?? "off"), database: \(database), auth: \(self.auth), "
            + "adminToken: \(self.adminToken == nil ? "none" : "<redacted>"), writeQueueShards: \(self.writeQueueShards))"
    }

    public var debugDescription: String { self.description }
}

enum Redacted {
    /// A URL with its password replaced.
    static func url(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "redacted"
        return components.string ?? "<url>"
    }
}
