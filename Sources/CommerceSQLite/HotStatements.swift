import GRDB
import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection's hot statements, found by the address of their SQL literal, not by their text.
///
/// GRDB's statement cache is a dictionary keyed by the SQL string: every lookup hashes the whole
/// statement text (SipHash over 100–200 bytes) and compares it, and checks the connection's
/// queue. An order runs about a dozen such statements on the commit thread, which spent 2.1 µs of
/// its 57 µs per order in those lookups (session 27's profile). The owner of a connection (the
/// group committer for the writer, each read lane for its own) keeps one of these and makes it the
/// thread's current set while it runs work on that connection (``using(_:)``); a lookup then
/// probes a small table by one address.
///
/// The set holds its statements strongly, so they stay valid when GRDB empties its own cache (at
/// `releaseMemory` or a schema change): a prepared statement recompiles itself after a schema
/// change. A statement is only handed out for the connection that compiled it; anything else (no
/// current set, another connection, a full table) falls back to GRDB's cache. Dropping the set
/// finalizes its statements; a connection GRDB closed before that closes once they are.
final class HotStatements: @unchecked Sendable {
    // @unchecked: used only on its connection's queue, one unit of work at a time.

    private struct Entry {
        var sql: UnsafeRawPointer?
        var statement: Statement?
    }

    /// A connection runs a few dozen hot statements; past half the table they go to GRDB's cache.
    private static let size = 256
    private var entries = [Entry](repeating: Entry(), count: HotStatements.size)
    private var used = 0

    init() {}

    /// Runs `body` with this set as the calling thread's current one (restoring the previous after).
    func using<T>(_ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(Self.current)
        pthread_setspecific(Self.current, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(Self.current, previous) }
        return try body()
    }

    /// The statement compiled from `sql` on `db`: from the thread's current set when it holds one
    /// of `db`'s, else from GRDB's cache (which compiles it on first use).
    static func statement(_ sql: StaticString, in db: Database) throws -> Statement {
        guard sql.hasPointerRepresentation, let current = pthread_getspecific(Self.current) else {
            return try db.cachedStatement(sql: "\(sql)")
        }
        return try Unmanaged<HotStatements>.fromOpaque(current).takeUnretainedValue().statement(sql, in: db)
    }

    private func statement(_ sql: StaticString, in db: Database) throws -> Statement {
        let address = UnsafeRawPointer(sql.utf8Start)
        var position = Int((UInt(bitPattern: address) >> 3) &* 0x9E37_79B9 % UInt(Self.size))
        while let statement = self.entries[position].statement {
            if self.entries[position].sql == address {
                guard sqlite3_db_handle(statement.sqliteStatement) == db.sqliteConnection else {
                    return try db.cachedStatement(sql: "\(sql)")  // another connection's set
                }
                return statement
            }
            position = (position + 1) % Self.size
        }
        let statement = try db.cachedStatement(sql: "\(sql)")
        if self.used < Self.size / 2 {
            self.entries[position] = Entry(sql: address, statement: statement)
            self.used += 1
        }
        return statement
    }

    /// The thread's current set (an unretained `HotStatements`), while its owner runs work.
    private static let current: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key, nil)
        precondition(created == 0, "pthread_key_create failed: \(created)")
        return key
    }()
}
