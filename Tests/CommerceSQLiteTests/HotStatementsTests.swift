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

    @Test("found again without compiling, also after GRDB empties its cache; not consulted outside its owner's work")
    func foundAgain() throws {
        let queue = try Self.database(rows: 10)
        let statements = HotStatements()
        var first: Statement?
        try queue.inDatabase { db in
            try statements.using {
                first = try HotStatements.statement(Self.countAbove, in: db)
                #expect(try HotStatements.statement(Self.countAbove, in: db) === first)
                #expect(try Self.count(above: 4, db) == 6)
                // GRDB empties its statement cache (as at releaseMemory or a schema change): the set
                // keeps its statement, which still answers.
                db.releaseMemory()
                #expect(try HotStatements.statement(Self.countAbove, in: db) === first)
                #expect(try Self.count(above: 7, db) == 3)
            }
            // Outside `using`, GRDB's cache compiles its own.
            #expect(try HotStatements.statement(Self.countAbove, in: db) !== first)
            #expect(try Self.count(above: 0, db) == 10)
        }
    }

    @Test("a set's statement is only handed out for the connection that compiled it")
    func ownConnectionOnly() throws {
        let small = try Self.database(rows: 3)
        let large = try Self.database(rows: 30)
        let statements = HotStatements()
        for _ in 0..<3 {
            try small.inDatabase { db in
                try statements.using {
                    let count = try Self.count(above: 0, db)
                    #expect(count == 3)
                }
            }
            // The same set, wrongly made current for another connection: that one gets its own.
            try large.inDatabase { db in
                try statements.using {
                    let statement = try HotStatements.statement(Self.countAbove, in: db)
                    #expect(sqlite3_db_handle(statement.sqliteStatement) == db.sqliteConnection)
                    let count = try Self.count(above: 0, db)
                    #expect(count == 30)
                }
            }
        }
    }

    @Test("dropping the set finalizes its statements")
    func droppedWithItsOwner() throws {
        let queue = try Self.database(rows: 5)
        weak var kept: Statement?
        do {
            let statements = HotStatements()
            try queue.inDatabase { db in
                try statements.using {
                    kept = try HotStatements.statement(Self.countAbove, in: db)
                    db.releaseMemory()  // now only the set holds it
                }
            }
            #expect(kept != nil)
        }
        #expect(kept == nil)
        try queue.inDatabase { db in
            let count = try Self.count(above: 0, db)
            #expect(count == 5)
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
