import NIOConcurrencyHelpers
import NIOCore

/// The server's open connections, for the connection limit and for draining.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }

    private let state = NIOLockedValueBox(State())

    /// Registers `channel` unless the server is at `limit` or draining; `false` means refuse it.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        self.state.withLockedValue { state in
            guard !state.draining, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = self.state.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { self.state.withLockedValue { $0.channels.count } }

    var isDraining: Bool { self.state.withLockedValue { $0.draining } }

    /// Marks the server draining and returns the channels open at that moment.
    func beginDraining() -> [any Channel] {
        self.state.withLockedValue { state in
            state.draining = true
            return Array(state.channels.values)
        }
    }
}
