import CommerceDomain
import Dispatch
import Synchronization
import Tracing

/// Where use cases run. Writes go to a serial queue chosen by the key they change (user or
/// product), so writes to one key never race inside this process and never pile up on the
/// database's single writer from many threads at once. (Reads need no queue of ours: the store
/// runs them concurrently on its reader connections' own Dispatch queues.)
///
/// Queues are sharded — key `k` uses queue `k mod shards` — so memory stays bounded however
/// many users and products there are. The database's transactions remain the final arbiter:
/// these queues order work, they do not guard invariants.
///
/// A keyed write runs on its queue with `sync`: what runs there only submits the write to the
/// store, which takes microseconds and never waits for the disk (the store hands back a
/// ``PendingWrite`` at once), so the calling thread — usually a connection's event loop — runs it
/// itself, serialized with every other write to that key, instead of waking a pool thread to do
/// it and being woken again (a context switch per order; about a tenth of the server's CPU time).
/// The caller then awaits the write without holding any thread.
public final class WorkQueues: Sendable {
    private let userQueues: [DispatchQueue]
    private let productQueues: [DispatchQueue]
    private let newKeyQueues: [DispatchQueue]
    private let nextNew = Atomic<Int>(0)
    private let tracing: WriteTracing?

    /// - Parameters:
    ///   - shards: serial write queues per kind of key.
    ///   - tracer: where each write's spans go (its time in the store, the group commit it joined),
    ///     under the caller's span; nil: none, and nothing is measured for them.
    public init(shards: Int = 128, tracer: (any Tracer)? = nil) {
        precondition(shards > 0)
        self.tracing = tracer.map(WriteTracing.init)
        self.userQueues = (0..<shards).map { DispatchQueue(label: "commerce.write.user.\($0)") }
        self.productQueues = (0..<shards).map { DispatchQueue(label: "commerce.write.product.\($0)") }
        // Writes of no key may read before they submit (a sweep looks for due work first), so they
        // run asynchronously on queues of their own, on the global pool's few threads, and never
        // hold up a keyed write.
        let pool = DispatchQueue.global(qos: .userInitiated)
        self.newKeyQueues = (0..<4).map { DispatchQueue(label: "commerce.write.new.\($0)", target: pool) }
    }

    /// The caller's W3C trace context (`traceparent`), when writes are traced and the caller is in
    /// a trace; nil otherwise, at no cost.
    public var traceParent: String? {
        guard let tracing = self.tracing, let current = ServiceContext.current, current.tracesWrites else { return nil }
        var headers: [String: String] = [:]
        tracing.tracer.inject(current, into: &headers, using: DictionaryCarrier())
        return headers["traceparent"]
    }

    public func write<T: Sendable>(
        user: UserID,
        _ body: @escaping @Sendable () throws -> PendingWrite<T>
    ) async throws -> T {
        try await self.submit(on: self.userQueues[Self.shard(user.rawValue, self.userQueues.count)], "user", body)
    }

    public func write<T: Sendable>(
        product: ProductID,
        _ body: @escaping @Sendable () throws -> PendingWrite<T>
    ) async throws -> T {
        try await self.submit(
            on: self.productQueues[Self.shard(product.rawValue, self.productQueues.count)],
            "product",
            body
        )
    }

    /// For writes that create a new key (a new user, a new product) or span keys (expiry sweeps):
    /// nothing orders them, so they rotate over queues of their own and group-commit with everything else.
    public func writeNew<T: Sendable>(_ body: @escaping @Sendable () throws -> PendingWrite<T>) async throws -> T {
        let shard = self.nextNew.add(1, ordering: .relaxed).oldValue
        let queue = self.newKeyQueues[Self.shard(Int64(shard), self.newKeyQueues.count)]
        guard let tracing = self.tracing, WriteTracing.wanted else { return try await Self.run(on: queue, body) }
        let traced = tracing.start("new")
        let pending = Box<PendingWrite<T>>()
        do {
            let value = try await Self.run(on: queue) {
                let write = try body()
                pending.value = write
                return write
            }
            tracing.end(traced, commit: pending.value?.commit, error: nil)
            return value
        } catch {
            tracing.end(traced, commit: pending.value?.commit, error: error)
            throw error
        }
    }

    private static func shard(_ key: Int64, _ count: Int) -> Int {
        Int(UInt64(bitPattern: key) % UInt64(count))
    }

    /// Submits `body`'s write on `queue`, on the calling thread, and resumes the caller once the
    /// write is over. The queue is free for the key's next write as soon as this one is submitted:
    /// the store keeps their order. A caller already cancelled (deadline, CANCEL frame, its
    /// connection closed) submits nothing; one cancelled while its write waits in the store's queue
    /// abandons it, and the store drops it unless it has started.
    private func submit<T: Sendable>(
        on queue: DispatchQueue,
        _ kind: String,
        _ body: @Sendable () throws -> PendingWrite<T>
    ) async throws -> T {
        try Task.checkCancellation()
        let traced = WriteTracing.wanted ? self.tracing?.start(kind) : nil
        let pending = try queue.sync(execute: body)
        do {
            let value = try await withTaskCancellationHandler {
                try await pending.value
            } onCancel: {
                pending.abandon()
            }
            if let traced { self.tracing?.end(traced, commit: pending.commit, error: nil) }
            return value
        } catch {
            if let traced { self.tracing?.end(traced, commit: pending.commit, error: error) }
            throw error
        }
    }

    /// Runs `body` on `queue`'s own thread, which submits one write to the store, and resumes the
    /// caller once that write is over. Work whose caller was cancelled before it reached the front
    /// of the queue is skipped.
    private static func run<T: Sendable>(
        on queue: DispatchQueue,
        _ body: @escaping @Sendable () throws -> PendingWrite<T>
    ) async throws -> T {
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.async {
                    if cancelled.isSet {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    do {
                        try body().whenComplete { continuation.resume(with: $0) }
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }
}

final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { self.flag.load(ordering: .acquiring) }
    func set() { self.flag.store(true, ordering: .releasing) }
}
