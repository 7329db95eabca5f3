import Metrics
import NIOCore

/// Pushback: a connection that had a call refused for load is not read again until the server has
/// room.
///
/// Refusing costs both sides: the server reads, decodes and answers each call it cannot take, and
/// the client, told to retry in 50 ms, sends it again. Under a flood of 20,000 callers on 100
/// connections that was tens of thousands of refusals in ten seconds (`benchmarks/overload.sh`),
/// each one work the accepted calls did not get. Once a call is refused `OVERLOADED`, its
/// connection stops being read: what its client sends next waits in the socket buffers, and TCP
/// slows the client down. Reading resumes when the calls in flight fall to the admission's
/// ``Admission/roomLevel`` or after ``roomWaitLimit`` at the latest. Calls already read are still
/// refused or admitted as they come; a connection without refusals (a health probe's, a client's
/// that stays within the bounds) is never paused.
extension ServerConnectionHandler {
    /// The longest a connection waits for room.
    static let roomWaitLimit = TimeAmount.seconds(1)
    static let readPauses = Counter(label: "rpc_server_read_pauses_total")

    func waitForRoom() {
        guard !self.waitingForRoom, let context = self.context else { return }
        self.waitingForRoom = true
        Self.readPauses.increment()
        self.updateAutoRead(context)
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        self.roomFallback = eventLoop.scheduleTask(in: Self.roomWaitLimit) { handler.value.resumeReading() }
        self.admission.whenRoom(for: ObjectIdentifier(self)) {
            eventLoop.execute { handler.value.resumeReading() }
        }
    }

    func resumeReading() {
        guard self.waitingForRoom, let context = self.context else { return }
        self.waitingForRoom = false
        self.roomFallback?.cancel()
        self.roomFallback = nil
        self.updateAutoRead(context)
    }

    /// Reads while the client takes our answers and no refusal is waiting for room.
    func updateAutoRead(_ context: ChannelHandlerContext) {
        let read = self.writable && !self.waitingForRoom
        context.channel.setOption(ChannelOptions.autoRead, value: read).whenFailure { _ in }
    }
}
