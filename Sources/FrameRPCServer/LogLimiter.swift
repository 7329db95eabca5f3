import NIOCore
import Synchronization

/// Lets through at most `perWindow` log lines of one kind per `window`, and counts the rest, so a
/// flood of bad connections costs a few lines, not one each (garbage traffic once wrote 9.3 MB of
/// logs in 10 minutes). The next line let through says how many were left out before it.
public final class LogLimiter: Sendable {
    private struct State {
        var windowStart: NIODeadline
        var logged = 0
        var suppressed = 0
    }

    private let state: Mutex<State>
    public let perWindow: Int
    public let window: TimeAmount

    public init(perWindow: Int = 10, window: TimeAmount = .seconds(10)) {
        self.perWindow = perWindow
        self.window = window
        self.state = Mutex(State(windowStart: .now()))
    }

    /// `nil`: leave this line out. Otherwise log it, with the number left out since the last one.
    public func admit(now: NIODeadline = .now()) -> Int? {
        self.state.withLock { state in
            if now - state.windowStart >= self.window {
                state.windowStart = now
                state.logged = 0
            }
            guard state.logged < self.perWindow else {
                state.suppressed += 1
                return nil
            }
            state.logged += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
    }
}
