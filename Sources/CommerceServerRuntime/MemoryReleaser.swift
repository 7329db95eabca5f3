import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Hands memory back to the system once a surge of calls is over.
///
/// A flood admits thousands of calls at once; each holds its task, request, reply and queue entry
/// until it ends. Freed, that memory stays in glibc's arenas, split into pieces it does not return
/// by itself: after a flood the process kept twice the memory it started with (`benchmarks/
/// overload.sh`). Sampled once a sweep, a surge (``busyCalls`` in flight) that has ended (at most
/// ``idleCalls``) is followed by one `malloc_trim(0)`, which gives every free page back. It runs
/// only when the server is nearly idle, so the arena locks it takes delay no one.
final class MemoryReleaser: Sendable {
    static let busyCalls = 256
    static let idleCalls = 8

    private let sawSurge = Atomic(false)
    private let releases = Counter(label: "process_memory_releases_total")

    /// Called with the calls in flight now; releases memory if a surge just ended.
    func observe(callsInFlight: Int) {
        if callsInFlight >= Self.busyCalls {
            self.sawSurge.store(true, ordering: .relaxed)
            return
        }
        guard callsInFlight <= Self.idleCalls, self.sawSurge.exchange(false, ordering: .relaxed) else { return }
        if let trim = Self.mallocTrim {
            _ = trim(0)
            self.releases.increment()
        }
    }

    /// glibc's `malloc_trim`, which its Swift module does not export (it is declared in
    /// `<malloc.h>`); `nil` on other C libraries.
    private static let mallocTrim: (@convention(c) (Int) -> CInt)? = {
        #if canImport(Glibc)
        // RTLD_DEFAULT: search the process's global symbols (libc among them).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> CInt).self)
        #else
        return nil
        #endif
    }()
}
