import Dispatch
import GRDB
import Synchronization

/// Concurrent reads without contention: `count` serial Dispatch queues, each with its own
/// read-only WAL connection. A read takes the next lane round-robin; as no other lane touches
/// that lane's connection, GRDB's synchronous access runs inline on the lane's thread.
/// (GRDB's `DatabasePool` readers are checked out through a shared barrier queue per read, which
/// under many concurrent calls costs a thread switch each; see benchmarks/README.md.)
final class ReadLanes: Sendable {
    private let lanes: [(queue: DispatchQueue, reader: DatabaseQueue)]
    private let next = Atomic<Int>(0)

    init(path: String, count: Int, busyTimeout: Double) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(busyTimeout)
        self.lanes = try (0..<max(1, count)).map { index in
            (DispatchQueue(label: "commerce.read.\(index)"), try DatabaseQueue(path: path, configuration: config))
        }
    }

    /// Runs `body` on the next lane and resumes the caller with its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (DatabaseQueue) throws -> T) async throws -> T {
        let index = self.next.add(1, ordering: .relaxed).oldValue % self.lanes.count
        let (queue, reader) = self.lanes[index < 0 ? -index : index]
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try mapStorageErrors { try body(reader) } })
            }
        }
    }
}
