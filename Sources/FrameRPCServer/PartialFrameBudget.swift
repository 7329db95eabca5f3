import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The server-wide budget for bytes held in requests that have not arrived whole: FrameRPC frames
/// and, shared with the HTTP listener, Connect request bodies. Without it the bound is connections
/// × the largest request (10,000 × 4 MiB of frames plus 1,000 × 4 MiB of bodies at the defaults):
/// peers that each send most of a large request and stop could hold gigabytes. Past the budget, the
/// connection (or HTTP/2 stream) holding the most such bytes is refused — a GOAWAY, or an HTTP
/// error, `RESOURCE_EXHAUSTED` / `PARTIAL_FRAME_BUDGET` — and closed, and its bytes are freed;
/// `rpc_server_partial_frame_evictions_total` counts it.
public final class PartialFrameBudget: Sendable {
    /// One connection's share: bytes received and not yet part of a whole request.
    public final class Account: Sendable {
        fileprivate let pending = Atomic<Int>(0)
        fileprivate let evicted = Atomic(false)
        fileprivate let evict: @Sendable () -> Void

        fileprivate init(evict: @escaping @Sendable () -> Void) { self.evict = evict }
    }

    public let limit: Int
    private let total = Atomic<Int>(0)
    private let accounts = NIOLockedValueBox<[ObjectIdentifier: Account]>([:])
    private let evictions = Counter(label: "rpc_server_partial_frame_evictions_total")

    public init(limit: Int) {
        self.limit = limit
    }

    /// Bytes of unfinished frames held by every connection now.
    public var buffered: Int { self.total.load(ordering: .relaxed) }

    /// A new connection's account; `evict` runs (once, from any thread) when it is chosen.
    public func open(evict: @escaping @Sendable () -> Void) -> Account {
        let account = Account(evict: evict)
        self.accounts.withLockedValue { $0[ObjectIdentifier(account)] = account }
        return account
    }

    /// The connection is gone: its bytes no longer count.
    public func close(_ account: Account) {
        self.accounts.withLockedValue { _ = $0.removeValue(forKey: ObjectIdentifier(account)) }
        self.total.subtract(account.pending.exchange(0, ordering: .relaxed), ordering: .relaxed)
    }

    public func received(_ bytes: Int, on account: Account) {
        guard !account.evicted.load(ordering: .relaxed) else { return }  // being closed: already let go
        account.pending.add(bytes, ordering: .relaxed)
        let total = self.total.add(bytes, ordering: .relaxed).newValue
        if total > self.limit { self.evictLargest() }
    }

    /// `bytes` became a whole frame (or were skipped: an oversize frame's payload is counted here
    /// when its header arrives, so its account runs below zero until the bytes do).
    public func consumed(_ bytes: Int, on account: Account) {
        guard !account.evicted.load(ordering: .relaxed) else { return }
        account.pending.subtract(bytes, ordering: .relaxed)
        self.total.subtract(bytes, ordering: .relaxed)
    }

    private func evictLargest() {
        let victim = self.accounts.withLockedValue { accounts in
            accounts.values.filter { !$0.evicted.load(ordering: .relaxed) && $0.pending.load(ordering: .relaxed) > 0 }
                .max { $0.pending.load(ordering: .relaxed) < $1.pending.load(ordering: .relaxed) }
        }
        guard let victim, !victim.evicted.exchange(true, ordering: .relaxed) else { return }
        // Its bytes are as good as freed: counting them until the close completes would evict the
        // next connection for the same excess.
        self.total.subtract(victim.pending.exchange(0, ordering: .relaxed), ordering: .relaxed)
        self.evictions.increment()
        victim.evict()
    }
}

/// Sent through a connection's pipeline when the budget chose it.
struct PartialFrameBudgetExceeded: Sendable {}
