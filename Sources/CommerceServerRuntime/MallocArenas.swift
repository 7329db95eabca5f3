#if canImport(Glibc)
import Glibc
#endif

/// Bounds glibc's malloc arenas.
///
/// glibc gives a thread that finds the arenas busy an arena of its own, up to eight per core: under
/// a write flood Dispatch's workers, the group commit and the event loops each allocate, and every
/// arena keeps what was freed in it. The order flood of `benchmarks/overload.sh` peaked at 134–197
/// MiB of RSS with glibc's default and at 119–120 MiB with two arenas, at the same rates (session
/// 25). The server allows one arena per core unless the operator chose otherwise.
public enum MallocArenas {
    /// glibc's `M_ARENA_MAX` parameter for `mallopt`.
    private static let arenaMaxParameter: CInt = -8

    /// Limits the arenas to `count` (a `MALLOC_ARENA_MAX` in the environment wins: glibc has read
    /// it already). Returns whether the limit was set; false on other C libraries, or for 0.
    @discardableResult
    public static func limit(to count: Int) -> Bool {
        guard count > 0, getenvValue("MALLOC_ARENA_MAX") == nil, let mallopt = Self.mallopt else { return false }
        return mallopt(Self.arenaMaxParameter, CInt(clamping: count)) == 1
    }

    private static func getenvValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// glibc's `mallopt`, which its Swift module does not export (it is declared in `<malloc.h>`).
    private static let mallopt: (@convention(c) (CInt, CInt) -> CInt)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (CInt, CInt) -> CInt).self)
        #else
        return nil
        #endif
    }()
}
