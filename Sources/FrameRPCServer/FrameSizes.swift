import Synchronization

/// The mean size of the frames the server reads (a moving average over the last hundred or so), so
/// that a turn's read budget can hold a bounded number of calls, not only of bytes.
///
/// A turn's time goes to the calls it reads, and a byte budget sized for requests that carry a
/// token (about 430 bytes) let in seven times as many calls once the token crossed the connection
/// once (about 60 bytes a request): a GetBalance flood's turn grew to 25 ms, and a health probe on
/// its own connection fell seconds behind (benchmarks/README.md, session 30). Updated from every
/// loop without a lock: a lost update only delays the average.
final class FrameSizes: Sendable {
    /// The mean before any frame is read.
    static let nominal = 128
    /// In sixteenths of a byte.
    private let sixteenths = Atomic<Int>(FrameSizes.nominal * 16)

    init() {}

    /// A whole frame of `bytes` (header included) was read.
    func record(_ bytes: Int) {
        let old = self.sixteenths.load(ordering: .relaxed)
        self.sixteenths.store(old + (min(bytes, 1 << 20) * 16 - old) / 64, ordering: .relaxed)
    }

    /// The mean frame, in bytes.
    var mean: Int { max(16, self.sixteenths.load(ordering: .relaxed) / 16) }
}
