extension Duration {
    /// This duration in whole microseconds (for a request's `timeout_micros`).
    var microseconds: Int64 {
        self.components.seconds * 1_000_000 + self.components.attoseconds / 1_000_000_000_000
    }
}
