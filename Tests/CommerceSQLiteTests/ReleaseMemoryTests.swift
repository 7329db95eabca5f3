import Foundation
import GRDB
import Testing

@testable import CommerceSQLite

@Suite("SQLite store releases its caches")
struct ReleaseMemoryTests {
    @Test("after every lane has read 2 MB, releaseMemory empties their page caches; the next read fills them again")
    func emptiesPageCaches() async throws {
        let store = try temporaryStore()
        try store.unsafeExecuteForTesting(
            """
            CREATE TABLE filler(x BLOB);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
            INSERT INTO filler SELECT randomblob(1000) FROM n;
            """
        )
        let lanes = 2 * store.configuration.maximumReaders
        let scan = "SELECT SUM(LENGTH(x)) FROM filler"
        // Round-robin: one scan per read lane and one per lookup lane.
        for _ in 0..<store.configuration.maximumReaders {
            #expect(try await store.readOne { db in try Int.fetchOne(db, sql: scan) } == 2_000_000)
            #expect(try store.lookUp { db in try Int.fetchOne(db, sql: scan) } == 2_000_000)
        }
        let full = await store.readLanes.cacheBytes()
        // Each lane's cache holds up to 2,000 KiB (SQLite's default), most of the 2 MB it read.
        #expect(full >= lanes * (1 << 20), "\(full) bytes of page cache in \(lanes) lanes")
        await store.releaseMemory()
        let released = await store.readLanes.cacheBytes()
        #expect(released < full / 10, "\(full) → \(released) bytes")
        #expect(try await store.readOne { db in try Int.fetchOne(db, sql: scan) } == 2_000_000)
        #expect(await store.readLanes.cacheBytes() > released + (1 << 20), "the lane that read fills again")
        await store.close()
    }
}
