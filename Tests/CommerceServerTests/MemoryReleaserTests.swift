import Foundation
import Synchronization
import Testing

@testable import CommerceServerRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Memory freed in holes glibc keeps: `count` blocks of 64 KiB (below the mmap threshold, so in
/// an arena's heap), each written to, and every other one freed. The blocks still held keep the
/// holes from merging into the heap's top, which glibc would give back by itself.
private final class Holes {
    private var held: [UnsafeMutableRawPointer] = []

    init(count: Int) {
        let size = 64 << 10
        // All first: a block freed at once would be reused by the next.
        let blocks = (0..<count).map { _ in malloc(size)! }
        for (index, block) in blocks.enumerated() {
            memset(block, 1, size)
            if index.isMultiple(of: 2) { self.held.append(block) } else { free(block) }
        }
    }

    /// Frees every other block still held: more holes.
    func freeHalf() {
        var kept: [UnsafeMutableRawPointer] = []
        for (index, block) in self.held.enumerated() {
            if index.isMultiple(of: 2) { kept.append(block) } else { free(block) }
        }
        self.held = kept
    }

    deinit { for block in self.held { free(block) } }
}

@Suite("Memory handed back after a surge", .serialized, .timeLimit(.minutes(2)))
struct MemoryReleaserTests {
    private final class Releases: Sendable {
        let caches = Atomic(0)
    }

    @Test("a surge that ends frees the caches and trims; one that has not ended, or a busy server, does not")
    func afterASurge() async throws {
        let releases = Releases()
        let releaser = MemoryReleaser { releases.caches.add(1, ordering: .relaxed) }
        #expect(await !releaser.observe(callsInFlight: MemoryReleaser.busyCalls, highest: MemoryReleaser.busyCalls))
        #expect(await !releaser.observe(callsInFlight: MemoryReleaser.idleCalls + 1, highest: 300), "not idle yet")
        #expect(releases.caches.load(ordering: .relaxed) == 0)
        #expect(await releaser.observe(callsInFlight: MemoryReleaser.idleCalls, highest: 100))
        #expect(releases.caches.load(ordering: .relaxed) == 1)
        #expect(await !releaser.observe(callsInFlight: 0, highest: 100), "once per surge")
        #expect(releases.caches.load(ordering: .relaxed) == 1)
        // A surge that came and went between two looks, seen by the high-water mark alone.
        #expect(await releaser.observe(callsInFlight: 0, highest: 5_000))
        #expect(releases.caches.load(ordering: .relaxed) == 2)
    }

    @Test("a surge followed by an ordinary load is released under that load; one still going on is not")
    func surgeThenOrdinaryLoad() async throws {
        let releases = Releases()
        let releaser = MemoryReleaser { releases.caches.add(1, ordering: .relaxed) }
        let ordinary = MemoryReleaser.calmCalls / 2  // 64 callers, as overload.sh's unflooded runs
        #expect(await !releaser.observe(callsInFlight: ordinary, highest: ordinary), "no surge, no growth")
        #expect(await !releaser.observe(callsInFlight: 3_000, highest: 8_192))
        // The surge ends between two looks, but the sweep saw a part of it: not calm yet.
        #expect(await !releaser.observe(callsInFlight: ordinary, highest: 4_000), "the sweep still saw the surge")
        #expect(await !releaser.observe(callsInFlight: ordinary, highest: MemoryReleaser.calmCalls), "not calm")
        #expect(releases.caches.load(ordering: .relaxed) == 0)
        #expect(await releaser.observe(callsInFlight: ordinary, highest: ordinary + 4))
        #expect(releases.caches.load(ordering: .relaxed) == 1)
        #expect(await !releaser.observe(callsInFlight: ordinary, highest: ordinary), "once per surge")
    }

    @Test(
        "memory freed in a burst without a surge goes back to the system, also what is freed after a trim in the middle of the burst; memory still in use is not trimmed again and again"
    )
    func afterABurst() async throws {
        let releases = Releases()
        let releaser = MemoryReleaser { releases.caches.add(1, ordering: .relaxed) }
        let holes = Holes(count: 2_048)  // 128 MiB written, 64 MiB of it freed
        let before = try #require(MemoryReleaser.residentBytes())
        #expect(await releaser.observe(callsInFlight: 0, highest: 0))
        let after = try #require(MemoryReleaser.residentBytes())
        #expect(before - after >= 48 << 20, "RSS \(before >> 20) → \(after >> 20) MiB")
        #expect(releases.caches.load(ordering: .relaxed) == 0, "caches are dropped only after a surge")
        // The burst goes on freeing after that trim: half of what it held.
        holes.freeHalf()
        #expect(await releaser.observe(callsInFlight: 0, highest: 0))
        let later = try #require(MemoryReleaser.residentBytes())
        #expect(after - later >= 24 << 20, "RSS \(after >> 20) → \(later >> 20) MiB")
        // The 32 MiB still held: one more trim finds them in use and counts from there.
        #expect(await releaser.observe(callsInFlight: 0, highest: 0))
        #expect(await !releaser.observe(callsInFlight: 0, highest: 0), "memory in use is not trimmed again")
        #expect(await !releaser.observe(callsInFlight: 0, highest: 0))
    }
}

@Suite("A server hands memory back", .timeLimit(.minutes(2)))
struct ServerMemoryReleaseTests {
    @Test("after 2,000 concurrent charges the server releases memory and reports its resident set")
    func releasesAfterAFlood() async throws {
        // A sweep every 20 ms, so the release follows the surge soon.
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--expiry-sweep-ms", "20"]
        )
        let before = try await metrics(port: server.metricsPort)["process_memory_releases_total"] ?? 0
        try await server.chargeConcurrently(users: 2, charges: 1_000, connections: 8)
        var seen: [String: Double] = [:]
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            try await Task.sleep(for: .milliseconds(100))
            seen = try await metrics(port: server.metricsPort)
        } while (seen["process_memory_releases_total"] ?? 0) <= before && ContinuousClock.now < deadline
        #expect((seen["process_memory_releases_total"] ?? 0) > before, "\(seen.filter { $0.key.hasPrefix("process") })")
        #expect((seen["process_resident_memory_bytes"] ?? 0) > Double(1 << 20))
        // What the watch looked at: nothing in flight now that the charges are answered.
        #expect(seen["rpc_server_calls_in_flight"] == 0)
        #expect(seen["rpc_server_calls_in_flight_highest"] != nil)
        #expect((seen["commerce_sqlite_cache_bytes"] ?? 0) > 0)
        #expect(await server.terminate() == 0)
    }
}
