import Dispatch
import GRDB
import Synchronization

/// Group commit: many writes, one transaction, one fsync.
///
/// Writers arrive from the per-user and per-product queues. The first to find no batch running
/// becomes the leader: it takes every queued write and runs them in one `BEGIN IMMEDIATE`
/// transaction, each in its own savepoint — a write that throws rolls back only itself — then
/// commits once. Writes that arrive meanwhile wait and form the next batch. A caller learns its
/// result only after the commit that made it durable; if the commit itself fails, every write of
/// the batch fails with it (none of them happened).
///
/// The guarded statements inside each write still decide every invariant, so this changes
/// throughput, not correctness, also with several processes on one file.
final class GroupCommitter: Sendable {
    private final class Job: @unchecked Sendable {
        let body: (Database) throws -> Any
        let done = DispatchSemaphore(value: 0)
        var result: Result<Any, any Error> = .failure(CancellationError())

        init(_ body: @escaping (Database) throws -> Any) { self.body = body }
    }

    private struct State {
        var queued: [Job] = []
        var leading = false
        var batches = 0
        var writes = 0
    }

    private let pool: DatabasePool
    private let maximumBatch: Int
    private let state = Mutex(State())

    init(pool: DatabasePool, maximumBatch: Int = 256) {
        self.pool = pool
        self.maximumBatch = maximumBatch
    }

    /// (batches committed, writes in them) since start.
    var statistics: (batches: Int, writes: Int) { self.state.withLock { ($0.batches, $0.writes) } }

    func write<T>(_ body: @escaping (Database) throws -> T) throws -> T {
        let job = Job { try body($0) }
        let lead = self.state.withLock { state -> Bool in
            state.queued.append(job)
            if state.leading { return false }
            state.leading = true
            return true
        }
        if lead { self.lead() }
        job.done.wait()
        return try job.result.get() as! T
    }

    private func lead() {
        while true {
            let batch = self.state.withLock { state -> [Job] in
                let batch = Array(state.queued.prefix(self.maximumBatch))
                state.queued.removeFirst(batch.count)
                if batch.isEmpty { state.leading = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                try self.pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in batch {
                            do {
                                try db.inSavepoint {
                                    job.result = .success(try job.body(db))
                                    return .commit
                                }
                            } catch {
                                job.result = .failure(error)
                            }
                        }
                        return .commit
                    }
                }
            } catch {
                // The commit failed: nothing of this batch happened.
                for job in batch { job.result = .failure(error) }
            }
            self.state.withLock { state in
                state.batches += 1
                state.writes += batch.count
            }
            for job in batch { job.done.signal() }
        }
    }
}
