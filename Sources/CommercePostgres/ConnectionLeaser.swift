import CommerceDomain
import PostgresNIO
import Synchronization

/// Leases pooled connections, giving up after a bound: while PostgreSQL is down or restarting,
/// postgres-nio's pool keeps a lease request waiting (it retries the connection with backoff), and
/// a call would hang until its deadline. Past ``timeout`` without a connection, the work fails
/// `UNAVAILABLE / STORAGE_UNAVAILABLE` (nothing of it ran: retry). Work that got its connection is
/// never interrupted by this bound.
///
/// The lease runs in a task of its own, which the caller's cancellation does not reach: a caller
/// that gives up (its deadline, its client gone) stops waiting, and a connection granted after
/// that goes straight back to the pool. (Cancelling a pending lease inside the pool, as a task
/// group's cancellation did, could leave the caller waiting for a lease that never settled.)
struct ConnectionLeaser: Sendable {
    let client: PostgresClient
    let timeout: Duration
    let gate: ConnectionGate

    private enum Lease { case waiting, started, gaveUp }

    /// One call's lease: who settles it first (the work, the timeout, the caller's cancellation) wins.
    private final class Call<T: Sendable>: Sendable {
        let lease = Mutex(Lease.waiting)
        let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)
        let timer = Mutex<Task<Void, Never>?>(nil)

        func settle(_ result: Result<T, any Error>) {
            let waiting = self.continuation.withLock { continuation in
                defer { continuation = nil }
                return continuation
            }
            self.timer.withLock { $0 }?.cancel()
            waiting?.resume(with: result)
        }

        /// Gives up unless the work has its connection; true if it gave up.
        func giveUp() -> Bool {
            self.lease.withLock { lease in
                guard case .waiting = lease else { return false }
                lease = .gaveUp
                return true
            }
        }
    }

    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard self.gate.enter() else {
            throw CommerceError(.storageUnavailable, "the store is closing; retry on another instance")
        }
        defer { self.gate.leave() }
        let call = Call<T>()
        let (client, timeout) = (self.client, self.timeout)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                call.continuation.withLock { $0 = continuation }
                Task {
                    do {
                        let value = try await client.withConnection { connection in
                            let start = call.lease.withLock { lease -> Bool in
                                guard case .waiting = lease else { return false }
                                lease = .started
                                return true
                            }
                            guard start else { throw CancellationError() }
                            return try await body(connection)
                        }
                        call.settle(.success(value))
                    } catch {
                        call.settle(.failure(error))
                    }
                }
                let timer = Task {
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    if call.giveUp() {
                        call.settle(
                            .failure(
                                CommerceError(.storageUnavailable, "no database connection within \(timeout); retry")
                            )
                        )
                    }
                }
                call.timer.withLock { $0 = timer }
            }
        } onCancel: {
            if call.giveUp() { call.settle(.failure(CancellationError())) }
        }
    }
}
