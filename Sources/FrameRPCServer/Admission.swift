import Synchronization

/// Server-wide admission of calls: at most ``limit`` in flight across every connection, so a
/// flood of connections each within its own per-connection cap cannot queue without bound.
///
/// Mutating calls may take only three quarters of the slots: a write flood leaves room for reads.
/// Health checks are always admitted, so a probe tells a busy server from a dead one.
final class Admission: Sendable {
    let limit: Int
    private let inFlight = Atomic<Int>(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// The slots a mutating call may use.
    var writeLimit: Int { max(1, self.limit * 3 / 4) }

    var current: Int { self.inFlight.load(ordering: .relaxed) }

    /// Takes a slot if the call may start now.
    func admit(mutating: Bool, exempt: Bool) -> Bool {
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

    func release(_ count: Int = 1) {
        guard count > 0 else { return }
        self.inFlight.subtract(count, ordering: .relaxed)
    }
}
