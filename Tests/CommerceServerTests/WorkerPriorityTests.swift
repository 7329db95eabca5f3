import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The threads of a running process: name and nice value, from `/proc/PID/task/*/stat`.
private func threads(of pid: Int32) -> [(name: String, nice: Int32)] {
    let directory = "/proc/\(pid)/task"
    let ids = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return ids.compactMap { id in
        guard let stat = try? String(contentsOfFile: "\(directory)/\(id)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the name: state, ppid, … — nice is the 19th field of the line, the 17th after ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 16, let nice = Int32(fields[16]) else { return nil }
        return (String(stat[stat.index(after: open)..<close]), nice)
    }
}

@Suite("Event loops ahead of the workers", .timeLimit(.minutes(2)))
struct WorkerPriorityTests {
    /// The nice value a child process starts with: the test's own.
    let base = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    /// Where the default puts every other thread.
    var lowered: Int32 { min(self.base + 12, 19) }

    /// Runs writes through the server so Dispatch has started its workers, then waits for `done`.
    /// The server is stopped whatever happens.
    private func watch(
        _ server: ServerProcess,
        for timeout: Duration = .seconds(10),
        until done: ([(name: String, nice: Int32)]) -> Bool
    ) async throws -> [(name: String, nice: Int32)] {
        try await server.chargeConcurrently(charges: 200, connections: 2)
        var seen = threads(of: server.pid)
        let deadline = ContinuousClock.now + timeout
        while !done(seen) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            seen = threads(of: server.pid)
        }
        return seen
    }

    @Test(
        "by default every thread but the event loops runs 12 nice steps lower (19 at most); the loops stay at the process's"
    )
    func lowered() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath(), extra: ["--event-loops", "1"])
        let seen = try await self.watch(server) { threads in
            threads.allSatisfy { $0.name.hasPrefix("NIO-") ? $0.nice == self.base : $0.nice == self.lowered }
        }
        let loops = seen.filter { $0.name.hasPrefix("NIO-ELT") }
        #expect(loops.count == 1, "one event loop of the server's own: \(seen)")
        #expect(seen.filter { $0.name.hasPrefix("NIO-") }.allSatisfy { $0.nice == self.base }, "\(seen)")
        let workers = seen.filter { !$0.name.hasPrefix("NIO-") }
        #expect(workers.count >= 3, "the main thread and Dispatch's workers: \(seen)")
        #expect(workers.allSatisfy { $0.nice == self.lowered }, "\(seen)")
        let lowered = try await metrics(port: server.metricsPort)["process_worker_threads_lowered_total"] ?? 0
        #expect(lowered >= Double(workers.count))
        #expect(await server.terminate() == 0)
    }

    @Test("--worker-nice 0 leaves every thread at the process's priority")
    func off() async throws {
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--event-loops", "1", "--worker-nice", "0"]
        )
        // Long enough for two passes of a sweep that should not run.
        let seen = try await self.watch(server, for: .milliseconds(2_500)) { _ in false }
        #expect(seen.count >= 4)
        // Nothing lowered. (Run as root, Dispatch raises its threads of higher QoS itself: -2, -4.)
        #expect(seen.allSatisfy { $0.nice <= self.base }, "\(seen)")
        #expect(await server.terminate() == 0)
    }
}
