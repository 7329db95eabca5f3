import Synchronization

/// Counts the work that holds or waits for a pooled connection, so that closing the store can
/// refuse new work and let what runs finish before it shuts the pool down. (Reads, lane commits and
/// the ahead-of-time reads of orders and relay polls all lease through it; a lease still pending
/// while postgres-nio's pool shuts down can keep the pool's `run()` from returning, and with it
/// the process from exiting.)
final class ConnectionGate: Sendable {
    private struct State {
        var closing = false
        var active = 0
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Whether new work may start; if so, it must ``leave()`` when done.
    func enter() -> Bool {
        self.state.withLock { state in
            guard !state.closing else { return false }
            state.active += 1
            return true
        }
    }

    func leave() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.active -= 1
            guard state.closing, state.active == 0 else { return [] }
            defer { state.idle.removeAll() }
            return state.idle
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new work from now on and returns once the work already started is done.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.state.withLock { state -> Bool in
                state.closing = true
                if state.active == 0 { return true }
                state.idle.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// Runs `work` and returns whether it finished within `limit`; past it, returns false and lets the
/// work go on without waiting for it (shutdown must end even if a step of it hangs).
func finishes(within limit: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        let outcome = FirstOutcome(continuation)
        Task {
            await work()
            outcome.settle(true)
        }
        Task {
            try? await Task.sleep(for: limit)
            outcome.settle(false)
        }
    }
}

/// Resumes a continuation with the first outcome it is given; later ones are ignored.
private final class FirstOutcome: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func settle(_ finished: Bool) {
        let first = self.continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        first?.resume(returning: finished)
    }
}
