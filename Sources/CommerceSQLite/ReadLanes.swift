import Dispatch
import GRDB
import GRDBSQLite
import Metrics
import Synchronization

/// Concurrent reads without contention: `count` read-only WAL connections, each with the serial
/// Dispatch queue GRDB gives it. A read takes the next lane round-robin and is sent straight to
/// that lane's queue (`asyncUnsafeRead`): one hand-off from the caller's thread, and no other lane
/// touches the connection. (GRDB's `DatabasePool` readers are checked out through a shared barrier
/// queue per read, which under many concurrent calls costs a thread switch each; an earlier
/// version kept a queue of its own per lane in front of GRDB's, and every read paid GRDB's
/// synchronous entry on top. See benchmarks/README.md.)
///
/// Lookups by key (a balance, a product: one indexed statement over a few cached pages, a few
/// microseconds) have lanes of their own and run on the caller's thread, with `sync` on the lane's
/// queue: sending one to another thread and back cost more than the lookup itself — two thread
/// wake-ups per call, each tens of microseconds on these machines. Only lookups run on those lanes,
/// so a lookup never waits behind a longer read.
final class ReadLanes: Sendable {
    private let readers: [DatabaseQueue]
    private let lookupReaders: [DatabaseQueue]
    /// Each lane's hot statements (``HotStatements``), at the lane's index.
    private let readerStatements: [HotStatements]
    private let lookupStatements: [HotStatements]
    private let next = Atomic<Int>(0)
    private let nextLookup = Atomic<Int>(0)

    init(path: String, count: Int, busyTimeout: Double) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(busyTimeout)
        config.label = "commerce.read"
        self.readers = try (0..<max(1, count)).map { _ in try DatabaseQueue(path: path, configuration: config) }
        // A WAL reader waits for a lock only in rare moments (another connection recovering the
        // WAL index); a lookup does so on an event loop, so it gives up after 100 ms with
        // `UNAVAILABLE` / `STORAGE_BUSY` (safe to retry) instead of holding the loop for long.
        config.busyMode = SQLiteStore.pollingBusyMode(timeout: min(busyTimeout, 0.1))
        config.label = "commerce.lookup"
        self.lookupReaders = try (0..<max(1, count)).map { _ in try DatabaseQueue(path: path, configuration: config) }
        self.readerStatements = self.readers.map { _ in HotStatements() }
        self.lookupStatements = self.lookupReaders.map { _ in HotStatements() }
    }

    /// How long a read waited for its lane (`commerce_store_read_wait_seconds`).
    private let waits = Timer(label: "commerce_store_read_wait_seconds", preferredDisplayUnit: .seconds)

    /// Runs a lookup by key on the calling thread, on the next lookup lane, outside any transaction.
    func lookUp<T>(_ body: (Database) throws -> T) throws -> T {
        let lane = Self.next(of: self.lookupReaders, self.nextLookup)
        let statements = self.lookupStatements[lane]
        return try mapStorageErrors {
            try self.lookupReaders[lane].unsafeRead { db in try statements.using { try body(db) } }
        }
    }

    /// The index of the next of `lanes`, round-robin by `counter`.
    private static func next(of lanes: [DatabaseQueue], _ counter: borrowing Atomic<Int>) -> Int {
        let turn = UInt(bitPattern: counter.add(1, ordering: .relaxed).oldValue)
        return Int(turn % UInt(lanes.count))
    }

    /// Runs `body` on the next lane, outside any transaction, and resumes the caller with its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let lane = Self.next(of: self.readers, self.next)
        let (reader, statements) = (self.readers[lane], self.readerStatements[lane])
        let queued = DispatchTime.now().uptimeNanoseconds
        let waits = self.waits
        return try await withCheckedThrowingContinuation { continuation in
            reader.asyncUnsafeRead { database in
                waits.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- queued))
                continuation.resume(
                    with: Result { try mapStorageErrors { try statements.using { try body(database.get()) } } }
                )
            }
        }
    }

    /// Frees what each lane's connection holds only to be faster — its page cache and prepared
    /// statements — one lane at a time, between its reads; they fill again as calls need them.
    func releaseMemory() async {
        await self.onEachLane { db in db.releaseMemory() }
    }

    /// The bytes of page cache the lanes hold (`SQLITE_DBSTATUS_CACHE_USED`), summed.
    func cacheBytes() async -> Int {
        let total = Atomic(0)
        await self.onEachLane { db in total.add(db.cacheBytes, ordering: .relaxed) }
        return total.load(ordering: .relaxed)
    }

    /// Runs `body` on every lane's connection in turn, each on its lane's queue.
    private func onEachLane(_ body: @escaping @Sendable (Database) -> Void) async {
        for lane in self.readers + self.lookupReaders {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lane.asyncUnsafeRead { database in
                    if let database = try? database.get() { body(database) }
                    continuation.resume()
                }
            }
        }
    }

    /// Runs `body` on the next lane in one read transaction: every statement sees one snapshot.
    func runInTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.run { db in
            var value: T?
            try db.inTransaction(.deferred) {
                value = try body(db)
                return .commit
            }
            return value!
        }
    }
}
