import Foundation

/// Exponential backoff with jitter: the client's retries of calls that were not processed, and the
/// data-platform relay's retries of a failed delivery.
public struct Backoff: Sendable {
    public var initial: Duration
    public var multiplier: Double
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(50), multiplier: Double = 2, maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
    }

    /// The delay before attempt `attempt` (0 = the first retry): `initial × multiplier^attempt`,
    /// at most `maximum`, less up to 20 % at random so that callers refused together do not come
    /// back together. Any attempt number is safe: the growth is capped before it is a `Duration`.
    public func delay(attempt: Int) -> Duration {
        let seconds = { (duration: Duration) in
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let grown = seconds(self.initial) * pow(self.multiplier, Double(max(0, attempt)))
        let capped = min(grown.isFinite ? grown : .infinity, seconds(self.maximum))
        return .nanoseconds(Int64(capped * Double.random(in: 0.8...1.0) * 1e9))
    }
}
