import Foundation
import Testing

/// glibc's arenas other than the main one in a running process, from `/proc/PID/maps`: each is a
/// reservation of 64 MiB (`HEAP_MAX_SIZE`) at a 64 MiB-aligned address, its used part read-write and
/// the rest without access, with no file behind either.
private func mallocArenas(of pid: Int32) throws -> Int {
    let heapSize: UInt64 = 64 << 20
    let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8).split(separator: "\n").compactMap {
        line -> (start: UInt64, end: UInt64, permissions: Substring, anonymous: Bool)? in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        let range = fields[0].split(separator: "-")
        guard fields.count >= 5, range.count == 2, let start = UInt64(range[0], radix: 16),
            let end = UInt64(range[1], radix: 16)
        else { return nil }
        return (start, end, fields[1], fields.count == 5)
    }
    var arenas = 0
    for (index, mapping) in maps.enumerated()
    where mapping.start % heapSize == 0 && mapping.anonymous && mapping.permissions.hasPrefix("rw") {
        var end = mapping.end
        if index + 1 < maps.count, maps[index + 1].start == end, maps[index + 1].anonymous,
            maps[index + 1].permissions.hasPrefix("---")
        {
            end = maps[index + 1].end
        }
        if end - mapping.start == heapSize { arenas += 1 }
    }
    return arenas
}

@Suite("malloc arenas bounded", .timeLimit(.minutes(2)))
struct MallocArenasTests {
    /// Runs 2,000 charges, 1,000 at a time on 8 connections, and counts the server's arenas.
    private func arenasAfterWrites(_ server: ServerProcess) async throws -> Int {
        try await server.chargeConcurrently(users: 2, charges: 1_000, connections: 8)
        return try mallocArenas(of: server.pid)
    }

    @Test(
        "by default the server keeps to one malloc arena per core under concurrent writes; with --malloc-arenas 0 (glibc's default) it makes more"
    )
    func bounded() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let bounded = try await ServerProcess.launch(database: temporaryDatabasePath())
        let arenas = try await self.arenasAfterWrites(bounded)
        // The main arena is not counted; one more may have been made before the limit was set.
        #expect(arenas <= cores, "\(arenas) arenas besides the main one on \(cores) cores")
        #expect(await bounded.terminate() == 0)

        let unbounded = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--malloc-arenas", "0"]
        )
        let more = try await self.arenasAfterWrites(unbounded)
        #expect(more > cores, "glibc's default made \(more) arenas besides the main one on \(cores) cores")
        #expect(await unbounded.terminate() == 0)
    }
}
