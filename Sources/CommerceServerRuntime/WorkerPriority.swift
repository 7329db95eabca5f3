import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the event loops ahead of the server's other threads when the cores are busy.
///
/// Under a write flood the loops share the cores with the group commit, the write queues and the
/// writes' tasks, all on Dispatch's threads. At equal weights the scheduler gave a loop about one
/// slice in five, and a health probe waited 40–80 ms for the loop to read it though its turn was
/// short (`benchmarks/README.md`, session 24). Raising the loops' priority takes a privilege
/// (`CAP_SYS_NICE`); lowering a thread's own takes none. So every ``interval`` this service sets
/// every thread of the process but the loops' to ``niceness`` steps below the process's own
/// priority (on Linux a thread's nice value is its own), and a thread Dispatch starts later is
/// caught by the next pass. The loops then run as soon as they have work; what they do is bounded
/// (a turn's fair share of reads, admission, refusals, answers), so the workers keep the rest.
/// At 5 steps below (weight 335 against the loop's 1024) a probe measured open-loop still waited
/// 22–26 ms at p99 under a write flood, with several workers runnable at once; at 12 (weight 70),
/// 10–11 ms, and the flood's orders did not slow (session 25).
struct WorkerPriority: Service {
    let niceness: Int32
    /// The event loops' threads, left at the process's priority.
    let loopThreads: Set<Int32>
    let interval: Duration
    let logger: Logger

    private static let lowered = Counter(label: "process_worker_threads_lowered_total")

    /// The threads of `group`'s loops (nil where threads cannot be told apart).
    static func threads(of group: any EventLoopGroup) async throws -> Set<Int32>? {
        var threads: Set<Int32> = []
        for loop in group.makeIterator() {
            guard let thread = try await loop.submit({ ThreadPriority.currentThread() }).get() else { return nil }
            threads.insert(thread)
        }
        return threads
    }

    func run() async {
        guard let base = ThreadPriority.process() else { return }
        // 19 is the lowest priority there is: asked for more, the kernel sets 19.
        let target = min(base + self.niceness, 19)
        self.logger.info(
            "threads other than the event loops run at a lower priority",
            metadata: ["nice": "\(target)", "event_loops": "\(self.loopThreads.count)"]
        )
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let count = ThreadPriority.lower(except: self.loopThreads, to: target)
            if count > 0 { Self.lowered.increment(by: count) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}

/// Linux's per-thread nice values, read and set through `/proc` and `setpriority`.
enum ThreadPriority {
    /// The calling thread's id (`/proc/thread-self`: Swift's Glibc module has no `gettid`).
    static func currentThread() -> Int32? {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/").last.flatMap { Int32($0) }
        #else
        return nil
        #endif
    }

    /// The process's nice value (its first thread's); nil where threads have none of their own.
    static func process() -> Int32? {
        #if os(Linux)
        self.nice(of: getpid())
        #else
        nil
        #endif
    }

    static func nice(of thread: Int32) -> Int32? {
        #if os(Linux)
        errno = 0
        let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread))
        return errno == 0 ? value : nil
        #else
        return nil
        #endif
    }

    /// The process's threads now.
    static func threads() -> [Int32] {
        #if os(Linux)
        guard let directory = opendir("/proc/self/task") else { return [] }
        defer { closedir(directory) }
        var threads: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let thread = Int32(name) { threads.append(thread) }
        }
        return threads
        #else
        return []
        #endif
    }

    /// The thread's name (`/proc/self/task/ID/comm`, at most 15 bytes).
    static func name(of thread: Int32) -> String? {
        #if os(Linux)
        let descriptor = open("/proc/self/task/\(thread)/comm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let length = read(descriptor, &buffer, buffer.count)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length], as: UTF8.self).trimmingCharacters(in: .newlines)
        #else
        return nil
        #endif
    }

    /// Sets every thread but `kept` and other NIO event loops (their threads are named `NIO-…`:
    /// the metrics endpoint's, an HTTP client's) whose nice value is below `nice` to it; returns
    /// how many it set.
    static func lower(except kept: Set<Int32>, to nice: Int32) -> Int {
        #if os(Linux)
        var count = 0
        for thread in self.threads() where !kept.contains(thread) {
            guard let current = self.nice(of: thread), current < nice,
                self.name(of: thread)?.hasPrefix("NIO-") == false
            else { continue }
            if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread), nice) == 0 { count += 1 }
        }
        return count
        #else
        return 0
        #endif
    }
}
