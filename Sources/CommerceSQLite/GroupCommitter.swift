import CommerceDomain
import CommerceUseCases
import Dispatch
import GRDB
import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Group commit: many writes, one transaction, one fsync.
///
/// Writes are submitted from the per-user and per-product queues and queued here, in submission
/// order. One committer (a serial Dispatch queue of its own, busy only while writes are queued)
/// takes every queued write and runs them in one `BEGIN IMMEDIATE` transaction — a write that
/// throws rolls back only itself (see ``commit(_:)``) — then commits once and completes their
/// ``PendingWrite``s. Writes that arrive meanwhile form the next batch, which starts as soon as the
/// commit is done. No thread waits for a commit: a submitter gets its pending write back at once,
/// and a second serial queue completes a committed batch's writes while the next batch runs.
/// (An earlier version let the first caller lead; under sustained load it kept leading, and the
/// write queue whose thread it was stalled for hundreds of milliseconds.) A write's result is
/// released only after the commit that made it durable; if the commit itself fails, every write of
/// the batch fails with it (none of them happened).
///
/// The guarded statements inside each write still decide every invariant, so this changes
/// throughput, not correctness, also with several processes on one file.
final class GroupCommitter: Sendable {
    /// One queued write: `run` keeps its result, `fail` replaces it with an error, and `finish`
    /// hands it to the waiting caller once the batch is over.
    private final class Job: @unchecked Sendable {
        let run: (Database) throws -> Void
        let fail: (any Error) -> Void
        let finish: (GroupCommit?) -> Void
        /// Nobody waits for it: drop it if it has not run.
        let isAbandoned: () -> Bool

        init(
            run: @escaping (Database) throws -> Void,
            fail: @escaping (any Error) -> Void,
            finish: @escaping (GroupCommit?) -> Void,
            isAbandoned: @escaping () -> Bool
        ) {
            self.run = run
            self.fail = fail
            self.finish = finish
            self.isAbandoned = isAbandoned
        }
    }

    /// A job's result between the statement that made it and the commit that releases it; only the
    /// committer's thread touches it.
    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, any Error> = .failure(CancellationError())
    }

    private struct State {
        var queued: [Job] = []
        var committing = false
        var batches = 0
        var writes = 0
        var busyNanoseconds: UInt64 = 0
        var wallNanoseconds: UInt64 = 0
        var replays = 0
        var abandoned = 0
    }

    /// `commerce_writes_abandoned_total`: writes dropped before they started, their callers gone.
    private let abandonedCounter = Counter(label: "commerce_writes_abandoned_total")
    /// Writes per committed transaction, the commit's wall time, and writes waiting: made once.
    private let batchSize = Recorder(label: "commerce_store_commit_batch_size")
    private let commitTime = Timer(label: "commerce_store_commit_seconds", preferredDisplayUnit: .seconds)
    private let queueDepth = Gauge(label: "commerce_store_queued_writes")

    private let pool: DatabasePool
    private let maximumBatch: Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "commerce.group-commit", qos: .userInitiated)
    private let completions = DispatchQueue(label: "commerce.group-commit.completions", qos: .userInitiated)

    private let maximumQueued: Int

    /// The writer's page cache after the last batch (`SQLITE_DBSTATUS_CACHE_USED`), for
    /// `commerce_sqlite_cache_bytes`.
    private let writerCache = Atomic(0)
    var writerCacheBytes: Int { self.writerCache.load(ordering: .relaxed) }

    /// The writer's hot statements: only the commit thread touches them, a batch at a time.
    private let hot = HotStatements()

    init(pool: DatabasePool, maximumBatch: Int = 256, maximumQueued: Int = 10_000) {
        self.pool = pool
        self.maximumBatch = maximumBatch
        self.maximumQueued = max(1, maximumQueued)
    }

    /// Batches committed, the writes in them, and the CPU time the committing thread spent on them
    /// (the one thread every write waits for: its time per write bounds the write rate), and the
    /// wall time from a batch's start to its durable commit (CPU time plus waits for the disk and
    /// for a core). `replays` counts the batches that started over with savepoints (see ``commit(_:)``).
    var statistics: GroupCommitStatistics {
        self.state.withLock {
            GroupCommitStatistics(
                batches: $0.batches,
                writes: $0.writes,
                busySeconds: Double($0.busyNanoseconds) / 1e9,
                wallSeconds: Double($0.wallNanoseconds) / 1e9,
                replays: $0.replays,
                abandoned: $0.abandoned,
                queued: $0.queued.count
            )
        }
    }

    /// Queues `body` behind every write submitted before it; `mapError` translates a failure
    /// before the caller sees it.
    func submit<T: Sendable>(
        _ body: @escaping (Database) throws -> T,
        mapError: @escaping @Sendable (any Error) -> any Error
    ) -> PendingWrite<T> {
        let pending = PendingWrite<T>()
        let box = ResultBox<T>()
        let job = Job(
            run: { db in box.result = .success(try body(db)) },
            fail: { box.result = .failure($0) },
            finish: { pending.complete(box.result.mapError(mapError), commit: $0) },
            isAbandoned: { pending.isAbandoned }
        )
        let start = self.state.withLock { state -> Bool? in
            guard state.queued.count < self.maximumQueued else { return nil }
            state.queued.append(job)
            if state.committing { return false }
            state.committing = true
            return true
        }
        guard let start else {
            // Refused before it was queued: nothing of it happened.
            return PendingWrite(
                .failure(
                    CommerceError(
                        .writeQueueFull,
                        "\(self.maximumQueued) writes already wait for the database; retry shortly",
                        details: ["retry_after_ms": "50"]
                    )
                )
            )
        }
        if start { self.queue.async { self.commitUntilEmpty() } }
        return pending
    }

    /// Takes up to ``maximumBatch`` queued writes at a time and commits them. A write whose caller
    /// has gone (connection closed, deadline, cancel) and that has not started is dropped here, so
    /// a flood whose clients hung up does not keep the commit thread busy for nobody.
    private func commitUntilEmpty() {
        while true {
            let (batch, dropped) = self.state.withLock { state -> ([Job], [Job]) in
                var batch: [Job] = []
                var dropped: [Job] = []
                var taken = 0
                while taken < state.queued.count, batch.count < self.maximumBatch {
                    let job = state.queued[taken]
                    taken += 1
                    if job.isAbandoned() { dropped.append(job) } else { batch.append(job) }
                }
                state.queued.removeFirst(taken)
                state.abandoned += dropped.count
                self.queueDepth.record(state.queued.count)
                if taken == 0 { state.committing = false }
                return (batch, dropped)
            }
            if !dropped.isEmpty {
                self.abandonedCounter.increment(by: dropped.count)
                for job in dropped { job.fail(CancellationError()) }
                self.completions.async { for job in dropped { job.finish(nil) } }
            }
            if batch.isEmpty {
                if dropped.isEmpty { return }
                continue
            }
            self.commit(batch)
        }
    }

    /// CPU time of the calling thread, in nanoseconds.
    private static func threadCPUTime() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// GRDB's `inTransaction(.immediate)`, with `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` compiled
    /// once: GRDB parses and compiles its `BEGIN` and `COMMIT` on every call, 1.5 µs per order at 25
    /// orders a batch (session 27's profile). If `body` throws or asks for a rollback, the
    /// transaction is rolled back (unless SQLite already did) and the first error is thrown.
    private static func inImmediateTransaction(
        _ db: Database,
        _ body: () throws -> Database.TransactionCompletion
    ) throws {
        try db.run("BEGIN IMMEDIATE")
        var firstError: (any Error)?
        var committed = false
        do {
            if try body() == .commit {
                try db.run("COMMIT")
                committed = true
            }
        } catch {
            firstError = error
        }
        if !committed, db.isInsideTransaction {
            do { try db.run("ROLLBACK") } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction, not just
    /// the failed statement. The statements of the next writes would then each commit on their own
    /// (the hot paths step statements through SQLite's C API, past GRDB's check for an aborted
    /// transaction), so the batch stops there and fails as a whole: nothing of it happened.
    private static func checkStillInTransaction(_ db: Database, after error: any Error) throws {
        guard db.isInsideTransaction else { throw error }
    }

    /// Runs one write in its own savepoint: if it throws, only its changes are undone and only its
    /// caller gets the error. The three statements are compiled once (GRDB's `inSavepoint` parses
    /// and compiles `SAVEPOINT` and `RELEASE` on every call). If SQLite has already rolled back the
    /// whole transaction (as it does on some I/O errors), `ROLLBACK TO` throws and the batch fails.
    private static func runInSavepoint(_ job: Job, _ db: Database) throws {
        try db.run("SAVEPOINT write")
        do {
            try job.run(db)
        } catch {
            job.fail(error)
            try db.run("ROLLBACK TO SAVEPOINT write")
        }
        try db.run("RELEASE SAVEPOINT write")
    }

    /// Runs `batch` in one transaction and commits it. A write that throws before changing any row
    /// just fails. One that throws after changing rows makes the batch start over, this time with
    /// each write in its own savepoint, so that only its own changes are undone: every write runs
    /// again from the same state, in the same order, and gets the same outcome.
    private func commit(_ batch: [Job]) {
        let started = Self.threadCPUTime()
        let startedWall = DispatchTime.now().uptimeNanoseconds
        var partial = false
        do {
            try self.pool.writeWithoutTransaction { db in
                defer { self.writerCache.store(db.cacheBytes, ordering: .relaxed) }
                try self.hot.using {
                    // Most writes either succeed or are refused before they change anything (the stores
                    // find refusals with reads first), so they run without a savepoint. If one throws
                    // after changing rows, the batch starts over with a savepoint per write. (A failed
                    // statement adds nothing to the change count: SQLite has undone it already.) Writes
                    // must have no effect outside the database, since a replay runs them twice.
                    try Self.inImmediateTransaction(db) {
                        for job in batch {
                            let changes = db.directTotalChanges
                            do {
                                try job.run(db)
                            } catch {
                                job.fail(error)
                                try Self.checkStillInTransaction(db, after: error)
                                if db.directTotalChanges != changes {
                                    partial = true
                                    return .rollback
                                }
                            }
                        }
                        return .commit
                    }
                    guard partial else { return }
                    try Self.inImmediateTransaction(db) {
                        for job in batch { try Self.runInSavepoint(job, db) }
                        return .commit
                    }
                }
            }
        } catch {
            // The commit failed: nothing of this batch happened.
            for job in batch { job.fail(error) }
        }
        let busy = Self.threadCPUTime() &- started
        let wall = DispatchTime.now().uptimeNanoseconds &- startedWall
        self.batchSize.record(batch.count)
        self.commitTime.recordNanoseconds(Int64(wall))
        let sequence = self.state.withLock { state in
            state.batches += 1
            state.writes += batch.count
            state.busyNanoseconds &+= busy
            state.wallNanoseconds &+= wall
            if partial { state.replays += 1 }
            return state.batches
        }
        let commit = GroupCommit(
            system: "sqlite",
            sequence: sequence,
            writes: batch.count,
            startedUptime: startedWall,
            endedUptime: startedWall &+ wall
        )
        // Hand the results over on another thread: resuming callers costs a little each, and the
        // committer is the one thread every write waits for.
        self.completions.async { for job in batch { job.finish(commit) } }
    }
}
