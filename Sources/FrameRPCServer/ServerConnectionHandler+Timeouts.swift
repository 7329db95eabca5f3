import FrameRPC
import NIOCore

/// The handshake, frame and idle timeouts: one scheduled check per connection, moved as frames arrive.
extension ServerConnectionHandler {
    // MARK: Timeouts that count whole frames

    func scheduleTimeoutCheck(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        self.timeoutCheck?.cancel()
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        self.timeoutCheck = eventLoop.scheduleTask(deadline: deadline) { handler.value.checkTimeouts() }
    }

    /// A preface late, a frame dripping in, or no frame for the idle timeout (with no call in
    /// flight) ends the connection with a GOAWAY saying which; otherwise the next check is set for
    /// the earliest moment one of them could apply (an unfinished frame that starts meanwhile is
    /// caught within one and a half frame timeouts).
    func checkTimeouts() {
        self.timeoutCheck = nil
        guard let eventLoop = self.context?.eventLoop, !self.state.isClosing else { return }
        let now = NIODeadline.now()
        let configuration = self.configuration
        func milliseconds(_ amount: TimeAmount) -> Int64 { amount.nanoseconds / 1_000_000 }
        if !self.state.prefaceReceived, now - self.progress.opened >= configuration.handshakeTimeout {
            self.goAway(
                RPCError(
                    code: .unavailable,
                    reason: WireReason.handshakeTimeout,
                    message: "no preface within \(milliseconds(configuration.handshakeTimeout)) ms"
                ),
                close: true
            )
            self.logProtocolError("closing connection after a timeout", WireReason.handshakeTimeout)
            return
        }
        if let since = self.progress.partialSince, now - since >= configuration.frameTimeout {
            self.goAway(
                RPCError(
                    code: .resourceExhausted,
                    reason: WireReason.frameTimeout,
                    message: "a frame did not arrive whole within \(milliseconds(configuration.frameTimeout)) ms"
                ),
                close: true
            )
            self.logProtocolError("closing connection after a timeout", WireReason.frameTimeout)
            return
        }
        if self.calls.isEmpty, now - self.progress.lastFrame >= configuration.idleTimeout {
            self.goAway(
                RPCError(
                    code: .unavailable,
                    reason: WireReason.idleTimeout,
                    message: "no frame for longer than \(milliseconds(configuration.idleTimeout)) ms"
                ),
                close: true
            )
            return
        }
        self.scheduleTimeoutCheck(at: self.nextTimeoutCheck(now: now), on: eventLoop)
    }

    func nextTimeoutCheck(now: NIODeadline) -> NIODeadline {
        let configuration = self.configuration
        var next = now + .nanoseconds(max(configuration.frameTimeout.nanoseconds / 2, 1_000_000))
        if let since = self.progress.partialSince { next = min(next, since + configuration.frameTimeout) }
        if !self.state.prefaceReceived { next = min(next, self.progress.opened + configuration.handshakeTimeout) }
        if self.calls.isEmpty { next = min(next, self.progress.lastFrame + configuration.idleTimeout) }
        return max(next, now + .milliseconds(1))
    }
}
