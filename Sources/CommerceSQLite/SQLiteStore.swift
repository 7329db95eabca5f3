import CSQLiteSettings
import CommerceDomain
import CommerceUseCases
import Foundation
import GRDB
import GRDBSQLite

/// The embedded store: one SQLite file in WAL mode, opened through a GRDB `DatabasePool`.
///
/// Writes go through the pool's single writer. Reads go through ``ReadLanes``: a few read-only
/// connections, each on its own serial Dispatch queue, so concurrent reads never contend for a
/// connection and never run on the caller's thread.
///
/// Owns consistency: every write method is one `BEGIN IMMEDIATE` transaction whose guarded
/// statements (`UPDATE … WHERE <invariant still holds>`, refused when no row changed) decide, so
/// processes sharing the file stay exact. Implements every storage port of the use cases.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    let readLanes: ReadLanes
    let committer: GroupCommitter
    let checkpointer: Checkpointer
    public let configuration: StoreConfiguration

    /// Opens (creating if needed) and migrates the database.
    public init(_ configuration: StoreConfiguration) throws {
        _ = Self.memoryStatisticsOff
        self.configuration = configuration
        var config = Configuration()
        config.busyMode = Self.pollingBusyMode(timeout: configuration.busyTimeout)
        config.maximumReaderCount = configuration.maximumReaders
        let synchronous = configuration.synchronous.rawValue
        config.prepareDatabase { db in
            // Checkpoints run on the Checkpointer's connection, not inside a commit.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // Each write of a group commit runs in a savepoint; SQLite keeps the pages a savepoint
            // may roll back in a statement journal, which past 64 KiB spills to a new temporary
            // file per transaction (open, thousands of pwrites, unlink). In memory instead.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // When the WAL starts over, its file is cut back to this size (it never shrinks otherwise).
            try db.execute(sql: "PRAGMA journal_size_limit = \(64 << 20)")
        }
        let directory = URL(fileURLWithPath: configuration.path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.pool = try DatabasePool(path: configuration.path, configuration: config)
        // Only now: opening a pool puts its writer in WAL mode and sets `synchronous = NORMAL`,
        // after `prepareDatabase` has run, which would silently undo a FULL set there.
        try self.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        try Migrations.migrator(calendar: configuration.calendar).migrate(self.pool)
        try self.pool.write { db in try Self.checkCalendar(db, configuration) }
        self.committer = GroupCommitter(pool: self.pool, maximumQueued: configuration.maxQueuedWrites)
        self.readLanes = try ReadLanes(
            path: configuration.path,
            count: configuration.maximumReaders,
            busyTimeout: configuration.busyTimeout
        )
        let (readLanes, committer) = (self.readLanes, self.committer)
        self.checkpointer = try Checkpointer(
            path: configuration.path,
            busyTimeout: configuration.busyTimeout,
            restartFrames: configuration.walRestartFrames,
            cacheBytes: { await readLanes.cacheBytes() + committer.writerCacheBytes }
        )
    }

    /// SQLite's memory statistics, off for the process before its first connection opens: with
    /// them on, SQLite takes one global mutex around each of its allocations, on every thread that
    /// uses it; off, the commit thread spent 6 % less CPU per order (session 27, six alternating
    /// pairs). `sqlite3_memory_used()` then reads 0; `commerce_sqlite_cache_bytes` counts the
    /// connections' page caches instead. False when SQLite was already initialized (a connection
    /// opened before the first store).
    static let memoryStatisticsOff: Bool = commerce_sqlite_disable_memory_statistics() == SQLITE_OK

    /// Waits for another connection's write lock (another process, or the checkpointer restarting
    /// the WAL) by retrying every millisecond until `timeout`. SQLite's own busy timeout sleeps up
    /// to 100 ms between tries, so a lock held for 5 ms could stall every queued write for 100.
    static func pollingBusyMode(timeout: Double) -> Database.BusyMode {
        let tries = Int(timeout * 1_000)
        return .callback { numberOfTries in
            guard numberOfTries < tries else { return false }
            usleep(1_000)
            return true
        }
    }

    /// Submits `body` to run in one `BEGIN IMMEDIATE` transaction: the write lock is taken up front,
    /// so concurrent writers (threads or processes) queue on the busy timeout instead of failing late.
    ///
    /// Concurrent writes are group-committed (``GroupCommitter``): each runs in its own savepoint of
    /// a shared transaction, in submission order, and completes only once that transaction has
    /// committed.
    func transaction<T: Sendable>(_ body: @escaping (Database) throws -> T) -> PendingWrite<T> {
        self.committer.submit(body, mapError: storageError)
    }

    /// A write that often has nothing to do (sweeps, relay polls): `due` looks first with a read,
    /// and only if it finds work is `body` submitted; otherwise the write is over at once with
    /// `idle`, having taken no write lock.
    func transaction<T: Sendable>(
        ifDue due: (Database) throws -> Bool,
        otherwise idle: T,
        _ body: @escaping (Database) throws -> T
    ) -> PendingWrite<T> {
        do {
            guard try self.readNow(due) else { return PendingWrite(.success(idle)) }
        } catch {
            return PendingWrite(.failure(error))
        }
        return self.transaction(body)
    }

    /// The background checkpointer's last pass: frames in the WAL, how many of them are already
    /// copied into the database file, and how often the WAL was made to start over so far.
    public var lastCheckpoint: (walFrames: Int, checkpointed: Int, restarts: Int) {
        let pass = self.checkpointer.lastPass
        return (pass.walFrames, pass.checkpointed, pass.restarts)
    }

    /// Copies the whole WAL into the database file and truncates the WAL to nothing, so the `.sqlite`
    /// file alone is the whole database (a tool that wrote much, like `seed`, then leaves no large
    /// WAL behind, and a copy of just the file is complete). Waits for the writes already submitted.
    ///
    /// Another connection's checkpoint (this store's background checkpointer, or another process's)
    /// makes SQLite answer busy at once, without calling the busy handler: so this tries again every
    /// millisecond, up to the busy timeout. Readers still in the WAL are waited for by the busy
    /// handler inside each try.
    /// - Returns: false if, for the whole busy timeout, another connection kept reading from the WAL
    ///   or checkpointing it, so it could not be emptied; what was copied stays copied and the
    ///   database is consistent either way.
    @discardableResult
    public func checkpointAll() throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(self.configuration.busyTimeout)
        return try mapStorageErrors {
            while true {
                if let pass = try Checkpointer.walCheckpoint(self.pool, "TRUNCATE"), pass.checkpointed >= pass.walFrames
                {
                    return true
                }
                guard ContinuousClock.now < deadline else { return false }
                usleep(1_000)
            }
        }
    }

    /// Group commit so far: transactions committed, the writes they carried, the committing
    /// thread's CPU seconds, and the batches that started over because a write failed half-way.
    public var groupCommitStatistics: GroupCommitStatistics { self.committer.statistics }

    /// Blocking read in one snapshot, for tools (audit, seed), never for calls.
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try mapStorageErrors { try self.pool.read(body) }
    }

    /// Several statements that must see one snapshot: a read transaction on a read lane.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.readLanes.runInTransaction(body)
    }

    /// A lookup by key — one indexed statement — on the calling thread (see ``ReadLanes``); atomic
    /// by itself in SQLite, so no BEGIN/COMMIT around it.
    func lookUp<T>(_ body: (Database) throws -> T) throws -> T {
        try self.readLanes.lookUp(body)
    }

    /// One statement: atomic by itself in SQLite, so no BEGIN/COMMIT around it.
    func readOne<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.readLanes.run(body)
    }

    /// Frees the connections' page caches and prepared statements: after a surge of calls they
    /// hold up to 2 MB each (`commerce_sqlite_cache_bytes`), which SQLite never gives back by
    /// itself. The writer's release waits for the batch being committed.
    public func releaseMemory() async {
        await self.readLanes.releaseMemory()
        _ = try? await self.pool.writeWithoutTransaction { db in db.releaseMemory() }
    }

    /// Runs raw SQL outside every rule of this store. For tests that tamper with a database to prove
    /// the audit notices; never called by the service.
    public func unsafeExecuteForTesting(_ sql: String) throws {
        try self.pool.write { db in try db.execute(sql: sql) }
    }

    /// The applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try self.pool.read { db in try Migrations.migrator(calendar: self.configuration.calendar).appliedMigrations(db)
        }
    }
}

/// A lock wait that ran out becomes `UNAVAILABLE / STORAGE_BUSY`, a full disk `UNAVAILABLE /
/// STORAGE_FULL` (both safe to retry: the transaction rolled back); others pass through.
func mapStorageErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw storageError(error)
    }
}

@Sendable func storageError(_ error: any Error) -> any Error {
    if let error = error as? DatabaseError, error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
        return CommerceError(.storageBusy, "the database is busy; retry")
    }
    // SQLite answers SQLITE_FULL when a write meets ENOSPC, and SQLITE_IOERR_SHMSIZE when the
    // WAL index cannot grow; either way the transaction rolled back and the file is intact.
    if let error = error as? DatabaseError,
        error.resultCode == .SQLITE_FULL || error.extendedResultCode == .SQLITE_IOERR_SHMSIZE
    {
        return CommerceError(
            .storageFull,
            "the database's disk is full; nothing was committed, retry once space is freed"
        )
    }
    return error
}

extension Database {
    /// Runs one statement, compiled once per connection and then reused from GRDB's statement
    /// cache: the write paths run the same few statements thousands of times a second.
    func run(_ sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try self.cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension SQLiteStore: ServedStore {
    public var calendar: ShopCalendar { self.configuration.calendar }

    /// Waits for the writes already submitted; the connections close with the store.
    public func close() async {
        _ = try? await self.transaction { _ in () }.value
    }
}
