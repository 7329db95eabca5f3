import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The server's open connections, for the connection limit and for draining.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        /// Who waits in ``drained()``, resumed when the last connection closes.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// The open connections' count, read on every socket read (``FairShareReads``) without the lock.
    private let open = Atomic<Int>(0)

    /// Registers `channel` unless the server is at `limit` or draining; `false` means refuse it.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        self.state.withLockedValue { state in
            guard !state.draining, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            self.open.add(1, ordering: .relaxed)
            return true
        }
    }

    func remove(_ channel: any Channel) {
        let waiters: [CheckedContinuation<Void, Never>] = self.state.withLockedValue { state in
            if state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
                self.open.subtract(1, ordering: .relaxed)
            }
            guard state.channels.isEmpty, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { self.open.load(ordering: .relaxed) }

    var isDraining: Bool { self.state.withLockedValue { $0.draining } }

    /// Marks the server draining and returns the channels open at that moment.
    func beginDraining() -> [any Channel] {
        self.state.withLockedValue { state in
            state.draining = true
            return Array(state.channels.values)
        }
    }

    /// Returns once no connection is open, or when the task is cancelled.
    func drained() async {
        let id: UInt64 = self.state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLockedValue { state in
                    if state.channels.isEmpty || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
