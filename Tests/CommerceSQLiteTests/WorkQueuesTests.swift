import CommerceDomain
import CommerceUseCases
import Dispatch
import Synchronization
import Testing

@Suite("Write queues: one serial queue per key, submitted on the caller's thread")
struct WorkQueuesTests {
    /// Counts submissions that ran while another one to the same key was still running.
    final class Overlaps: Sendable {
        let inside = Atomic<Bool>(false)
        let overlaps = Atomic<Int>(0)
        let runs = Atomic<Int>(0)

        func enter() {
            if self.inside.exchange(true, ordering: .acquiringAndReleasing) { self.overlaps.add(1, ordering: .relaxed) }
            // Long enough for another thread to barge in, were the queue not serial; short enough
            // not to hold up the tests running alongside on the same few threads.
            let end = DispatchTime.now().uptimeNanoseconds + 5_000
            while DispatchTime.now().uptimeNanoseconds < end {}
            self.runs.add(1, ordering: .relaxed)
            self.inside.store(false, ordering: .releasing)
        }
    }

    @Test("writes to one key from 32 concurrent callers never run at once; every one completes with its own result")
    func oneKeyIsSerial() async throws {
        let queues = WorkQueues(shards: 8)
        let user = Overlaps()
        let product = Overlaps()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<32 {
                group.addTask {
                    var sum = 0
                    for call in 0..<20 {
                        // The write completes later, on another thread, like a group commit does.
                        sum += try await queues.write(user: UserID(7)) {
                            user.enter()
                            let pending = PendingWrite<Int>()
                            DispatchQueue.global().async { pending.complete(.success(caller * 1_000 + call)) }
                            return pending
                        }
                        _ = try await queues.write(product: ProductID(3)) {
                            product.enter()
                            return PendingWrite(.success(0))
                        }
                    }
                    return sum
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(user.runs.load(ordering: .relaxed) == 32 * 20 && product.runs.load(ordering: .relaxed) == 32 * 20)
        #expect(user.overlaps.load(ordering: .relaxed) == 0, "two writes to one user ran at once")
        #expect(product.overlaps.load(ordering: .relaxed) == 0, "two writes to one product ran at once")
        #expect(results.sorted() == (0..<32).map { caller in (0..<20).reduce(0) { $0 + caller * 1_000 + $1 } })
    }

    @Test("a refused write's error reaches its caller; a caller cancelled before its turn submits nothing")
    func errorsAndCancellation() async throws {
        let queues = WorkQueues(shards: 4)
        await #expect(throws: CommerceError.self) {
            try await queues.write(user: UserID(1)) { () throws -> PendingWrite<Int> in
                throw CommerceError.userNotFound(UserID(1))
            }
        }
        await #expect(throws: CommerceError.self) {
            try await queues.write(user: UserID(1)) {
                PendingWrite<Int>(.failure(CommerceError.userNotFound(UserID(1))))
            }
        }
        let submitted = Overlaps()
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await queues.write(user: UserID(1)) {
                submitted.enter()
                return PendingWrite(.success(1))
            }
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        // Writes of no key run on their own queues' threads, and are skipped the same way.
        let skipped = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await queues.writeNew {
                submitted.enter()
                return PendingWrite(.success(1))
            }
        }
        await #expect(throws: CancellationError.self) { try await skipped.value }
        #expect(submitted.runs.load(ordering: .relaxed) == 0)
        #expect(try await queues.writeNew { PendingWrite(.success(42)) } == 42)
    }
}
