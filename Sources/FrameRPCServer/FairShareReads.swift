import NIOCore

/// How much one read of a connection takes: a fair share of what a loop reads in one turn.
///
/// An event loop reads every ready connection in turn, handles what it read, then runs its tasks,
/// and only then reads again. Reading all a connection has (NIO's default: up to 16 reads of up to
/// 64 KiB) let a flood's hundred connections hand one turn megabytes of calls, and a health probe
/// on a connection of its own waited for that whole turn: hundreds of milliseconds (`benchmarks/
/// overload.sh`). Now each read takes at most the loop's turn budget over the connections it
/// serves (between 128 bytes and 64 KiB), one read per turn; what is left stays in the kernel's socket
/// buffer (and pushes back on its sender) until the next turn, which the level-triggered poll
/// brings at once. A few connections still read 64 KiB at a time, and so does a connection in the
/// middle of a frame: a large request arrives at the pace of its sender, not of the turns (its
/// bytes count against the server's ``PartialFrameBudget`` all the same, and the frame timeout
/// still bounds it).
///
/// The turn budget is ``bytesPerTurn``, or ``callsPerTurn`` calls of the size the server has been
/// reading (``FrameSizes``), whichever is less: small requests do not make a longer turn.
struct FairShareReads: RecvByteBufferAllocator {
    static let smallest = 128
    static let largest = 64 * 1024

    let bytesPerTurn: Int
    var callsPerTurn = 256
    let loops: Int
    let registry: ConnectionRegistry
    var frameSizes = FrameSizes()
    /// The connection's own progress: whether a frame is half read.
    var progress: NIOLoopBound<ReadProgress>?

    /// This read's share, from the connections open now.
    var share: Int {
        if let progress, progress.value.partialSince != nil { return Self.largest }
        let perLoop = max(1, (self.registry.count + self.loops - 1) / self.loops)
        let turn = min(self.bytesPerTurn, self.callsPerTurn * self.frameSizes.mean)
        return min(Self.largest, max(Self.smallest, turn / perLoop))
    }

    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(capacity: self.share)
    }

    /// No size to pool buffers by: a pooled buffer kept from a larger share would be read into
    /// whole, so every read gets a buffer of the share of the moment.
    func nextBufferSize() -> Int? { nil }

    mutating func record(actualReadBytes: Int) -> Bool { true }
}
