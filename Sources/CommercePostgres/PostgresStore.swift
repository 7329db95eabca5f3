import CommerceDomain
import CommerceUseCases
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The store for several hosts: one PostgreSQL database, through postgres-nio's `PostgresClient`
/// (its connection pool; statements are sent with the extended protocol, parameters bound).
///
/// Writes go through ``WriteLane``s: each lane commits groups of writes on one connection, and
/// the lanes run side by side. Reads take a pooled connection each, concurrently.
///
/// Owns consistency as the SQLite store does, with PostgreSQL as the arbiter: every write method is
/// one transaction (READ COMMITTED) whose guarded statements (`UPDATE … WHERE <invariant still
/// holds> RETURNING …`, refused when no row comes back), unique constraints and CHECK constraints
/// decide, so instances on several hosts sharing the database stay exact. The business rules are
/// the domain's; this type holds queries and guards.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let connections: ConnectionLeaser
    private let gate: ConnectionGate
    private let lanes: [WriteLane]
    private let nextLane = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    let logger: Logger
    public let configuration: PostgresStoreConfiguration

    private init(_ configuration: PostgresStoreConfiguration, logger: Logger) throws {
        let endpoint = try configuration.endpoint
        var clientConfiguration: PostgresClient.Configuration
        if let socketPath = endpoint.socketPath {
            clientConfiguration = PostgresClient.Configuration(
                unixSocketPath: socketPath,
                username: endpoint.user,
                password: endpoint.password,
                database: endpoint.database
            )
        } else {
            clientConfiguration = PostgresClient.Configuration(
                host: endpoint.host!,
                port: endpoint.port,
                username: endpoint.user,
                password: endpoint.password,
                database: endpoint.database,
                tls: endpoint.tls ? .require(.makeClientConfiguration()) : .disable
            )
        }
        clientConfiguration.options.maximumConnections = configuration.writeLanes + configuration.readConnections
        clientConfiguration.options.minimumConnections = 0
        clientConfiguration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let gate = ConnectionGate()
        self.client = client
        self.gate = gate
        self.connections = ConnectionLeaser(client: client, timeout: configuration.connectionWaitTimeout, gate: gate)
        self.lanes = (0..<configuration.writeLanes).map { _ in
            WriteLane(
                connections: ConnectionLeaser(client: client, timeout: configuration.connectionWaitTimeout, gate: gate),
                logger: logger,
                maximumBatch: configuration.maximumBatch,
                maximumQueued: max(1, configuration.maxQueuedWrites / configuration.writeLanes),
                conflictRetries: configuration.conflictRetries
            )
        }
        self.logger = logger
        self.configuration = configuration
    }

    /// Opens the store for the time of `body`, and closes it on every way out.
    ///
    /// postgres-nio's connection pool runs as a child task of this call (structured: no task
    /// outlives it). Before `body` runs, the schema is created or upgraded and the calendar
    /// checked; after it, or when it throws, the store closes (``close()``) and the pool stops
    /// before this returns.
    /// - Throws: ``InvalidPostgresURL``, ``CalendarMismatch``, the database's error, or `body`'s.
    public static func withStore<Result>(
        _ configuration: PostgresStoreConfiguration,
        logger: Logger = Logger(label: "commerce.postgres"),
        _ body: (PostgresStore) async throws -> Result
    ) async throws -> Result {
        let store = try PostgresStore(configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { pool in
            pool.addTask { await store.client.run() }
            defer { pool.cancelAll() }
            do {
                do {
                    try await store.withSession { session in
                        try await PostgresSchema.migrate(session, calendar: configuration.calendar)
                        try await store.checkCalendar(session)
                    }
                } catch {
                    throw PostgresErrors.storeError(error)
                }
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// Lets the writes already accepted finish, refuses new work (`STORAGE_UNAVAILABLE`) and lets
    /// the work holding or awaiting a connection finish; the pool then stops as ``withStore(_:logger:_:)``
    /// returns. Each step waits at most 10 s: a shutdown ends even if PostgreSQL stopped answering.
    /// Closing a closed store does nothing.
    public func close() async {
        guard !self.closed.exchange(true, ordering: .relaxed) else { return }
        let lanes = self.lanes
        let gate = self.gate
        let drained = await finishes(within: .seconds(10)) {
            for lane in lanes { _ = try? await lane.submit { _ in () }.value }
        }
        let idle = await finishes(within: .seconds(10)) { await gate.close() }
        if !(drained && idle) {
            self.logger.warning(
                "the PostgreSQL store did not close cleanly within its bounds",
                metadata: ["writes_drained": "\(drained)", "connections_returned": "\(idle)"]
            )
        }
    }

    // MARK: Writes

    /// Submits `body` to run in one transaction on the lane of `key` (a user's, a product's or a
    /// campaign's id: the same key always takes the same lane, so its writes keep their order).
    /// `locks`: the products and users it changes, which its group locks first (``RowLocks``).
    func transaction<T: Sendable>(
        key: Int64,
        locks: RowLocks = RowLocks(),
        inputs: GroupedInputs? = nil,
        _ body: @escaping @Sendable (Session) async throws -> T
    ) -> PendingWrite<T> {
        self.lanes[Int(UInt64(bitPattern: key) % UInt64(self.lanes.count))].submit(locks: locks, inputs: inputs, body)
    }

    /// A write with no key to order it by: the lanes in turn.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Session) async throws -> T) -> PendingWrite<T> {
        let lane = self.nextLane.wrappingAdd(1, ordering: .relaxed).oldValue
        return self.lanes[lane % self.lanes.count].submit(body)
    }

    /// A write that often has nothing to do (relay polls): `due` looks first with a read, and only
    /// if it finds work is `body` submitted; otherwise the write is over with `idle`.
    func transaction<T: Sendable>(
        ifDue due: @escaping @Sendable (Session) async throws -> Bool,
        otherwise idle: T,
        _ body: @escaping @Sendable (Session) async throws -> T
    ) -> PendingWrite<T> {
        let pending = PendingWrite<T>()
        Task {
            do {
                guard try await self.withSession(due) else { return pending.complete(.success(idle)) }
                self.transaction(body).whenComplete { pending.complete($0) }
            } catch {
                pending.complete(.failure(error))
            }
        }
        return pending
    }

    public var groupCommitStatistics: GroupCommitStatistics {
        var total = WriteLane.Statistics()
        for lane in self.lanes {
            let statistics = lane.statistics
            total.batches += statistics.batches
            total.writes += statistics.writes
            total.wallNanoseconds &+= statistics.wallNanoseconds
            total.replays += statistics.replays
            total.abandoned += statistics.abandoned
            total.queued += statistics.queued
        }
        return GroupCommitStatistics(
            batches: total.batches,
            writes: total.writes,
            busySeconds: 0,
            wallSeconds: Double(total.wallNanoseconds) / 1e9,
            replays: total.replays,
            abandoned: total.abandoned,
            queued: total.queued
        )
    }

    // MARK: Reads

    /// One pooled connection for `body`; errors mapped as for writes.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (Session) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await self.connections.withConnection { connection in
                try await body(Session(connection, logger: logger))
            }
        } catch {
            throw PostgresErrors.storeError(error)
        }
    }

    /// Several statements that must see one snapshot: a read-only REPEATABLE READ transaction.
    func read<T: Sendable>(_ body: @escaping @Sendable (Session) async throws -> T) async throws -> T {
        try await self.withSession { session in
            try await session.control("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let value = try await body(session)
                try await session.control("COMMIT")
                return value
            } catch {
                try? await session.control("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs raw SQL outside every rule of this store. For tests that tamper with a database to prove
    /// the audit notices; never called by the service.
    public func unsafeExecuteForTesting(_ sql: String) async throws {
        try await self.withSession { session in try await session.write(PostgresQuery(unsafeSQL: sql)) }
    }
}

extension PostgresStore: ServedStore {
    public var calendar: ShopCalendar { self.configuration.calendar }

    /// Nothing to free: the caches are the PostgreSQL server's, and the pool's idle connections
    /// hold no more than their buffers.
    public func releaseMemory() async {}
}
