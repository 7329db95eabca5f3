import Synchronization

/// Server-wide admission of calls: at most ``limit`` in flight across every connection, so a
/// flood of connections each within its own per-connection cap cannot queue without bound.
///
/// Mutating calls may take only three quarters of the slots: a write flood leaves room for reads.
/// Health checks are always admitted, so a probe tells a busy server from a dead one.
///
/// A connection refused for load may wait for room (``whenRoom(for:_:)``): it stops being read, and
/// its next requests wait in TCP instead of being read, refused and sent again.
public final class Admission: Sendable {
    public let limit: Int
    private let inFlight = Atomic<Int>(0)
    private let waiters = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])
    private let waiting = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)

    public init(limit: Int) { self.limit = max(1, limit) }

    /// The slots a mutating call may use.
    public var writeLimit: Int { max(1, self.limit * 3 / 4) }

    public var current: Int { self.inFlight.load(ordering: .relaxed) }

    /// The most calls in flight at once since the last time this was taken (then it starts over
    /// from the calls in flight now): a surge between two looks is seen even if it has ended.
    public func takeHighest() -> Int {
        max(self.highest.exchange(self.current, ordering: .relaxed), self.current)
    }

    /// Raises the high-water mark to `level`; a plain load first, so calls below it write nothing.
    private func reached(_ level: Int) {
        if level > self.highest.load(ordering: .relaxed) { self.highest.store(level, ordering: .relaxed) }
    }

    /// The calls in flight at or below which those waiting for room are told: seven eighths of
    /// the writes' slots, so a connection let go finds room for what it sends.
    public var roomLevel: Int { self.writeLimit * 7 / 8 }

    /// Calls `resume` once the calls in flight have fallen to ``roomLevel`` (at once if they have).
    /// One waiter per `waiter` (a connection): asking again replaces what it asked before, so a
    /// connection that waits, gives up and waits again holds one entry, not one per wait.
    public func whenRoom(for waiter: ObjectIdentifier, _ resume: @escaping @Sendable () -> Void) {
        let added = self.waiters.withLock { $0.updateValue(resume, forKey: waiter) == nil }
        if added { self.waiting.add(1, ordering: .relaxed) }
        // A release between the caller's refusal and now saw no waiter.
        if self.current <= self.roomLevel { self.wakeAll() }
    }

    /// Drops `waiter`'s request for room (its connection closed).
    public func forget(_ waiter: ObjectIdentifier) {
        let removed = self.waiters.withLock { $0.removeValue(forKey: waiter) != nil }
        if removed { self.waiting.subtract(1, ordering: .relaxed) }
    }

    private func wakeAll() {
        let woken = self.waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters
        }
        guard !woken.isEmpty else { return }
        self.waiting.subtract(woken.count, ordering: .relaxed)
        for resume in woken.values { resume() }
    }

    /// Takes a slot if the call may start now.
    public func admit(mutating: Bool, exempt: Bool) -> Bool {
        if exempt {
            self.reached(self.inFlight.add(1, ordering: .relaxed).newValue)
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
            if exchanged {
                self.reached(current + 1)
                return true
            }
            current = original
        }
        return false
    }

    public func release(_ count: Int = 1) {
        guard count > 0 else { return }
        let now = self.inFlight.subtract(count, ordering: .relaxed).newValue
        if now <= self.roomLevel && self.waiting.load(ordering: .relaxed) > 0 { self.wakeAll() }
    }
}
