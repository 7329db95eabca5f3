import Foundation
import GRDB
import GRDBSQLite
import Testing

@testable import CommerceSQLite

@Suite("Hot statements, found by their literal")
struct HotStatementsTests {
    static let countAbove: StaticString = "SELECT COUNT(*) FROM t WHERE x > ?"

    /// An in-memory database whose table `t` holds 1…`rows`.
    static func database(rows: Int) throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t(x INTEGER)")
            for x in 1...rows { try db.execute(sql: "INSERT INTO t(x) VALUES (?)", arguments: [x]) }
        }
        return queue
    }

    static func count(above floor: Int64, _ db: Database) throws -> Int64? {
        try db.fetchFirst(direct: Self.countAbove, floor) { $0.int64(0) }
    }

    @Test("found again without compiling; once GRDB finalizes it, compiled again and still right")
    func foundAgainAndRecompiled() throws {
        let queue = try Self.database(rows: 10)
        try queue.inDatabase { db in
            let first = try HotStatements.statement(Self.countAbove, in: db)
            #expect(try HotStatements.statement(Self.countAbove, in: db) === first)
            #expect(try Self.count(above: 4, db) == 6)
            weak let dropped = first
            _ = consume first
            // GRDB clears its statement cache (as at releaseMemory, a schema change or a close):
            // the index must not keep the statement alive, nor hand out a finalized one.
            db.releaseMemory()
            #expect(dropped == nil)
            #expect(try Self.count(above: 7, db) == 3)
            #expect(try Self.count(above: 0, db) == 10)
        }
    }

    @Test("connections used in turn on one thread each get their own statement, also one opened after another closed")
    func ownStatementPerConnection() throws {
        let small = try Self.database(rows: 3)
        var large: DatabaseQueue? = try Self.database(rows: 30)
        for _ in 0..<3 {
            try small.inDatabase { db in
                #expect(try Self.count(above: 0, db) == 3)
                let statement = try HotStatements.statement(Self.countAbove, in: db)
                #expect(sqlite3_db_handle(statement.sqliteStatement) == db.sqliteConnection)
            }
            try large!.inDatabase { db in
                let count = try Self.count(above: 0, db)
                #expect(count == 30)
            }
        }
        // Closed connections leave entries behind; new ones (possibly at the same address) are
        // never given their statements.
        for rows in [5, 6, 7] {
            large = nil
            large = try Self.database(rows: rows)
            try large!.inDatabase { db in
                let count = try Self.count(above: 0, db)
                #expect(count == Int64(rows))
            }
            try small.inDatabase { db in
                let count = try Self.count(above: 0, db)
                #expect(count == 3)
            }
        }
    }

    @Test("a write that ends the batch's transaction fails the batch: no write after it commits on its own")
    func abortedTransactionFailsTheBatch() async throws {
        let store = try temporaryStore()
        try store.unsafeExecuteForTesting("CREATE TABLE marks(name TEXT)")
        // Hold the committer so that the next three writes are queued into one batch.
        let started = DispatchSemaphore(value: 0)
        let holding = store.transaction { _ in
            started.signal()
            Thread.sleep(forTimeInterval: 0.2)
        }
        started.wait()
        let before = store.transaction { db in try db.execute(sql: "INSERT INTO marks VALUES ('before')") }
        // As SQLite does on some I/O errors and a full disk: the whole transaction is rolled back.
        let aborting = store.transaction { db -> Void in
            try db.execute(sql: "ROLLBACK")
            throw DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full")
        }
        let after = store.transaction { db in try db.execute(sql: "INSERT INTO marks VALUES ('after')") }
        try await holding.value
        for write in [before, aborting, after] {
            await #expect(throws: (any Error).self) { try await write.value }
        }
        let marks = try await store.readOne { db in try String.fetchAll(db, sql: "SELECT name FROM marks") }
        #expect(marks == [], "writes of a failed batch committed: \(marks)")
        // The committer goes on.
        try await store.transaction { db in try db.execute(sql: "INSERT INTO marks VALUES ('later')") }.value
        #expect(try await store.readOne { db in try String.fetchAll(db, sql: "SELECT name FROM marks") } == ["later"])
        await store.close()
    }
}
