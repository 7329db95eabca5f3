import CommerceDomain
import CommerceUseCases
import Dispatch
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// Group commit over a network: one lane of writes, committed a group at a time.
///
/// Writes submitted to a lane queue in submission order. While any are queued, one task of the
/// lane takes them all (up to ``maximumBatch``), runs them in one transaction on one connection and
/// commits once: one round trip and one WAL flush for the group, instead of one per write. The
/// store keeps several lanes, so several groups are in flight at once on their own connections;
/// a user's writes always take the same lane, so they run in the order they were submitted.
///
/// PostgreSQL still arbitrates every write: each one's guarded statements decide, whatever the
/// other lanes and other instances do. A write refused before it changed anything (the stores find
/// refusals with reads first) just fails. If one fails after changing rows, or a statement fails
/// (a failed statement aborts PostgreSQL's whole transaction), or the group loses a deadlock, the
/// group is rolled back and each write runs again in a transaction of its own, from the same
/// state and in the same order. Alone, a write takes its row locks in one order (products by id,
/// then the buyer), so writes alone do not deadlock each other; a deadlock or serialization
/// failure (40P01, 40001) is retried up to ``conflictRetries`` times and then fails `STORAGE_BUSY`.
final class WriteLane: Sendable {
    private final class Job: @unchecked Sendable {
        let locks: RowLocks
        let inputs: GroupedInputs?
        let run: (Session) async throws -> Void
        let fail: (any Error) -> Void
        let finish: (GroupCommit?) -> Void
        let isAbandoned: () -> Bool
        /// Its outcome is final: committed, or failed in a transaction that was rolled back.
        var settled = false

        init(
            locks: RowLocks,
            inputs: GroupedInputs?,
            run: @escaping (Session) async throws -> Void,
            fail: @escaping (any Error) -> Void,
            finish: @escaping (GroupCommit?) -> Void,
            isAbandoned: @escaping () -> Bool
        ) {
            self.locks = locks
            self.inputs = inputs
            self.run = run
            self.fail = fail
            self.finish = finish
            self.isAbandoned = isAbandoned
        }
    }

    /// A job's result between the statement that made it and the commit that releases it; only
    /// the lane's task touches it.
    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, any Error> = .failure(CancellationError())
    }

    struct Statistics {
        var batches = 0
        var writes = 0
        var wallNanoseconds: UInt64 = 0
        var replays = 0
        var abandoned = 0
        var queued = 0
    }

    private struct State {
        var queued: [Job] = []
        var committing = false
        var statistics = Statistics()
    }

    private let connections: ConnectionLeaser
    private let logger: Logger
    private let maximumBatch: Int
    private let maximumQueued: Int
    private let conflictRetries: Int
    private let state = Mutex(State())
    private let abandonedCounter = Counter(label: "commerce_writes_abandoned_total")
    /// The same series as SQLite's group committer: writes per transaction, commit time, waiting writes.
    private let batchSize = Recorder(label: "commerce_store_commit_batch_size")
    private let commitTime = Timer(label: "commerce_store_commit_seconds", preferredDisplayUnit: .seconds)
    private let queueDepth = Gauge(label: "commerce_store_queued_writes")
    private let conflictCounter = Counter(label: "commerce_postgres_conflicts_total")

    init(connections: ConnectionLeaser, logger: Logger, maximumBatch: Int, maximumQueued: Int, conflictRetries: Int) {
        self.connections = connections
        self.logger = logger
        self.maximumBatch = maximumBatch
        self.maximumQueued = max(1, maximumQueued)
        self.conflictRetries = conflictRetries
    }

    var statistics: Statistics {
        self.state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queued.count
            return statistics
        }
    }

    /// Queues `body` behind every write submitted to this lane before it. `locks`: the rows of
    /// contended tables it will change, which a group takes first, in one order (see ``RowLocks``).
    /// `inputs`: an order's read, which a group makes for all its orders in one statement.
    func submit<T: Sendable>(
        locks: RowLocks = RowLocks(),
        inputs: GroupedInputs? = nil,
        _ body: @escaping @Sendable (Session) async throws -> T
    ) -> PendingWrite<T> {
        let pending = PendingWrite<T>()
        let box = ResultBox<T>()
        let job = Job(
            locks: locks,
            inputs: inputs,
            run: { session in box.result = .success(try await body(session)) },
            fail: { box.result = .failure($0) },
            finish: { pending.complete(box.result.mapError(PostgresErrors.storeError), commit: $0) },
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
            return PendingWrite(
                .failure(
                    CommerceError(
                        .writeQueueFull,
                        "\(self.maximumQueued) writes already wait for this database lane; retry shortly",
                        details: ["retry_after_ms": "50"]
                    )
                )
            )
        }
        if start { Task { await self.commitUntilEmpty() } }
        return pending
    }

    /// Commits groups until the queue is empty; writes whose callers are gone are dropped unrun.
    private func commitUntilEmpty() async {
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
                state.statistics.abandoned += dropped.count
                self.queueDepth.record(state.queued.count)
                if taken == 0 { state.committing = false }
                return (batch, dropped)
            }
            if !dropped.isEmpty {
                self.abandonedCounter.increment(by: dropped.count)
                for job in dropped {
                    job.fail(CancellationError())
                    job.finish(nil)
                }
            }
            if batch.isEmpty {
                if dropped.isEmpty { return }
                continue
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let unavailable = await self.commit(batch)
            self.batchSize.record(batch.count)
            self.commitTime.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
            if let unavailable { self.failQueued(unavailable) }
        }
    }

    /// The database could not be reached for a whole connection wait: the writes queued behind
    /// the batch would each wait as long again, so they fail now, with the same retryable error.
    private func failQueued(_ error: CommerceError) {
        let queued = self.state.withLock { state -> [Job] in
            defer { state.queued.removeAll() }
            return state.queued
        }
        for job in queued {
            job.fail(error)
            job.finish(nil)
        }
    }

    /// - Returns: the error, if the batch failed because no connection could be had.
    private func commit(_ batch: [Job]) async -> CommerceError? {
        let started = DispatchTime.now().uptimeNanoseconds
        var replayed = false
        var unavailable: CommerceError?
        do {
            replayed = try await self.connections.withConnection { connection in
                let session = Session(connection, logger: self.logger)
                if try await self.runTogether(batch, session) { return false }
                for job in batch { try await self.runAlone(job, session) }
                return true
            }
        } catch {
            // The connection or a commit failed: what was not committed did not happen. (A commit
            // whose answer was lost with the connection may have happened: its write is reported
            // failed, STORAGE_UNAVAILABLE, and a retry under an idempotency key finds it.)
            for job in batch where !job.settled { job.fail(error) }
            if let error = error as? CommerceError, error.reason == .storageUnavailable { unavailable = error }
        }
        let wall = DispatchTime.now().uptimeNanoseconds &- started
        let sequence = self.state.withLock { state in
            state.statistics.batches += 1
            state.statistics.writes += batch.count
            state.statistics.wallNanoseconds &+= wall
            if replayed { state.statistics.replays += 1 }
            return state.statistics.batches
        }
        let commit = GroupCommit(
            system: "postgresql",
            sequence: sequence,
            writes: batch.count,
            startedUptime: started,
            endedUptime: started &+ wall
        )
        for job in batch { job.finish(commit) }
        return unavailable
    }

    /// The whole group in one transaction. - Returns: false if it was rolled back, to run each
    /// write alone (a write failed after changing rows, a statement failed, or a conflict).
    private func runTogether(_ batch: [Job], _ session: Session) async throws -> Bool {
        try await session.control("BEGIN")
        if batch.count > 1 {
            do {
                try await batch.reduce(into: RowLocks()) { $0.formUnion($1.locks) }.take(session)
                // With its rows locked, the group reads every order's inputs in one round trip.
                let reads = batch.compactMap(\.inputs)
                if reads.count > 1 {
                    for (index, inputs) in try await session.rows(OrderInputsStatement(requests: reads.map(\.request)))
                    {
                        reads[Int(index)].row = inputs
                    }
                }
            } catch {
                if PostgresErrors.isConflict(error) { self.conflictCounter.increment() }
                try await session.control("ROLLBACK")
                return false
            }
        }
        for job in batch {
            session.resetWrites()
            do {
                try await job.run(session)
            } catch {
                job.fail(error)
                if session.wrote || session.statementFailed {
                    if PostgresErrors.isConflict(error) { self.conflictCounter.increment() }
                    try await session.control("ROLLBACK")
                    return false
                }
            }
        }
        try await session.control("COMMIT")
        for job in batch { job.settled = true }
        return true
    }

    /// One write in a transaction of its own, run again after a conflict.
    private func runAlone(_ job: Job, _ session: Session) async throws {
        var attempt = 0
        while true {
            try await session.control("BEGIN")
            do {
                try await job.run(session)
                try await session.control("COMMIT")
                job.settled = true
                return
            } catch {
                job.fail(error)
                try await session.control("ROLLBACK")
                guard PostgresErrors.isConflict(error), attempt < self.conflictRetries else {
                    job.settled = true
                    return
                }
                self.conflictCounter.increment()
                attempt += 1
                try await Task.sleep(for: .milliseconds(attempt))
            }
        }
    }
}
