import Synchronization

/// Server-wide admission of calls: at most ``limit`` in flight across every connection, so a
/// flood of connections each within its own per-connection cap cannot queue without bound.
///
/// Mutating calls may take only three quarters of the slots: a write flood leaves room for reads.
/// Health checks are always admitted, so a probe tells a busy server from a dead one.
public final class Admission: Sendable {
    public let limit: Int
    private let inFlight = Atomic<Int>(0)

    public init(limit: Int) { self.limit = max(1, limit) }

    /// The slots a mutating call may use.
    public var writeLimit: Int { max(1, self.limit * 3 / 4) }

    public var current: Int { self.inFlight.load(ordering: .relaxed) }

    /// Takes a slot if the call may start now.
    public func admit(mutating: Bool, exempt: Bool) -> Bool {
        if exempt {
            self.inFlight.add(1, ordering: .relaxed)
            return true
        }
        let bound = mutating ? self.writeLimit : self.limit
        var current = self.inFlight.load(ordering: .relaxed)
        while current < bound {
            let (exchanged, original) = self.inFlight.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    public func release(_ count: Int = 1) {
        guard count > 0 else { return }
        self.inFlight.subtract(count, ordering: .relaxed)
    }
}
