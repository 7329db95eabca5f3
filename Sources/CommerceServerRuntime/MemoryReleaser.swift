import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Hands memory back to the system once a surge of calls, or any burst of work, is over.
///
/// A flood admits thousands of calls at once; each holds its task, request, reply and queue entry
/// until it ends. Freed, that memory stays in glibc's arenas, split into pieces it does not return
/// by itself: after a flood the process kept twice the memory it started with (`benchmarks/
/// overload.sh`). A few large calls do the same without any surge: the load generator's checks
/// after a flood (64 callers listing every user's orders, then the whole-database audit) left the
/// server 30–50 MiB above where the flood had left it.
///
/// Sampled once a sweep, when the server is nearly idle (at most ``idleCalls`` in flight) or at
/// least calm (fewer than ``calmCalls`` in flight all through the sweep, by the admission's
/// high-water mark), so the arena locks the trim takes delay few: if a surge (``busyCalls`` in
/// flight at once, by the high-water mark, so one between two looks counts) has ended, or the
/// resident set has grown by ``growthBytes`` since the last release, one `malloc_trim(0)` gives
/// every free page back; after a surge the store first drops its caches (SQLite's page caches, up
/// to 2 MB a connection once a flood has read across the file). Waiting for idle alone kept a
/// flood's memory while an ordinary load went on after it, and floods one after another with 64
/// callers between them each started higher: 58, 109 and 87 MiB before them, 160 MiB at the third's
/// peak (`benchmarks/overload.sh`, session 31).
///
/// The starting point for growth is the lowest resident set after a release. A release that gave
/// back little (under ``growthBytes`` / 4) found memory in use, and its resident set becomes the
/// starting point, so memory really in use is not trimmed again and again. One that gave back much
/// keeps the lower point: a trim in the middle of a burst (the audit, at one call in flight, after
/// the 64 callers' checks) is followed by another once the burst's memory is freed.
final class MemoryReleaser: Sendable {
    static let busyCalls = 256
    static let idleCalls = 8
    static let calmCalls = 128
    static let growthBytes = 16 << 20

    private let sawSurge = Atomic(false)
    /// Where growth is counted from (at first, the resident set when the server started).
    private let settled = Atomic(0)
    private let releases = Counter(label: "process_memory_releases_total")
    private let resident = Gauge(label: "process_resident_memory_bytes")
    private let releaseCaches: @Sendable () async -> Void

    /// `releaseCaches` frees what the server holds only to be faster; it runs before the trim.
    init(releaseCaches: @escaping @Sendable () async -> Void) {
        self.releaseCaches = releaseCaches
        self.settled.store(Self.residentBytes() ?? 0, ordering: .relaxed)
    }

    /// Called with the calls in flight now and the most there were since the last look; releases
    /// memory if a surge or a burst has ended. Returns whether it did.
    @discardableResult
    func observe(callsInFlight: Int, highest: Int) async -> Bool {
        let resident = Self.residentBytes()
        if let resident { self.resident.record(resident) }
        if max(highest, callsInFlight) >= Self.busyCalls { self.sawSurge.store(true, ordering: .relaxed) }
        let calm = callsInFlight <= Self.idleCalls || max(highest, callsInFlight) < Self.calmCalls
        guard calm, let trim = Self.mallocTrim else { return false }
        let grew = (resident ?? 0) >= self.settled.load(ordering: .relaxed) + Self.growthBytes
        let surged = self.sawSurge.exchange(false, ordering: .relaxed)
        guard surged || grew else { return false }
        // Caches only after a surge: caches filling under a light load would otherwise be dropped
        // each time they had grown back.
        if surged { await self.releaseCaches() }
        _ = trim(0)
        self.releases.increment()
        if let after = Self.residentBytes() {
            let gaveBack = (resident ?? after) - after
            let settled = self.settled.load(ordering: .relaxed)
            self.settled.store(gaveBack < Self.growthBytes / 4 ? after : min(settled, after), ordering: .relaxed)
            self.resident.record(after)
        }
        return true
    }

    /// The process's resident set in bytes (`/proc/self/statm`'s second field); nil where there is
    /// no such file.
    static func residentBytes() -> Int? {
        #if canImport(Glibc)
        let file = open("/proc/self/statm", O_RDONLY)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
        #else
        return nil
        #endif
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
