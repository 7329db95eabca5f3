import CommerceDomain
import PostgresNIO
import Synchronization

/// Leases pooled connections, giving up after a bound: while PostgreSQL is down or restarting,
/// postgres-nio's pool keeps a lease request waiting (it retries the connection with backoff), and
/// a call would hang until its deadline. Past ``timeout`` without a connection, the work fails
/// `UNAVAILABLE / STORAGE_UNAVAILABLE` (nothing of it ran: retry). Work that got its connection is
/// never interrupted by this bound.
struct ConnectionLeaser: Sendable {
    let client: PostgresClient
    let timeout: Duration

    private enum Lease { case waiting, started, gaveUp }

    private final class State: Sendable {
        let lease = Mutex(Lease.waiting)
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let state = State()
        let client = self.client
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    let start = state.lease.withLock { lease -> Bool in
                        guard case .waiting = lease else { return false }
                        lease = .started
                        return true
                    }
                    guard start else { throw CancellationError() }
                    return try await body(connection)
                }
            }
            group.addTask {
                try? await Task.sleep(for: self.timeout)
                return nil
            }
            while let next = try await group.next() {
                if let value = next {
                    group.cancelAll()
                    return value
                }
                let gaveUp = state.lease.withLock { lease -> Bool in
                    guard case .waiting = lease else { return false }
                    lease = .gaveUp
                    return true
                }
                if gaveUp {
                    group.cancelAll()
                    throw CommerceError(.storageUnavailable, "no database connection within \(self.timeout); retry")
                }
                // The work has its connection: it finishes, however long it takes.
            }
            throw CancellationError()
        }
    }
}
