import NIOCore

extension Framerpc_V1_Request {
    /// When the server stops waiting for the call: `timeout_micros` after `now`, capped at `maximum`;
    /// a timeout of 0 (none asked for) gets `maximum`.
    public func deadline(from now: NIODeadline, maximum: TimeAmount) -> NIODeadline {
        let maximumMicros = UInt64(max(0, maximum.nanoseconds / 1000))
        let micros = self.timeoutMicros == 0 ? maximumMicros : min(self.timeoutMicros, maximumMicros)
        return now + .microseconds(Int64(micros))
    }
}
