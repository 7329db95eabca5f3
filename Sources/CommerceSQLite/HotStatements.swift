import GRDB
import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds a hot path's compiled statement by the address of its SQL literal, not by its text.
///
/// GRDB's statement cache is a dictionary keyed by the SQL string: every lookup hashes the whole
/// statement text (SipHash over 100–200 bytes) and compares it, and checks the connection's
/// queue. An order runs about a dozen such statements on the commit thread, which spent 2.1 µs of
/// its 57 µs per order in those lookups (session 27's profile). Here each thread keeps a small
/// index from (literal address, connection) to the statement GRDB compiled and still caches, so a
/// lookup hashes two words.
///
/// The index holds statements weakly. GRDB owns them (it finalizes them when it clears its cache,
/// at `releaseMemory` or when the connection closes), and a statement found alive belongs to a
/// live connection (GRDB finalizes its statements before it closes one), whose SQLite handle is
/// checked: so an entry never hands out a statement of a closed connection, or of another one that
/// reused its address.
enum HotStatements {
    /// The statement compiled from `sql` on `db`, from this thread's index or else from GRDB's cache
    /// (which compiles it on first use).
    static func statement(_ sql: StaticString, in db: Database) throws -> Statement {
        guard sql.hasPointerRepresentation else { return try db.cachedStatement(sql: "\(sql)") }
        let index = Index.current
        let key = Index.Key(sql: UnsafeRawPointer(sql.utf8Start), connection: ObjectIdentifier(db))
        if let statement = index.entries[key]?.statement,
            sqlite3_db_handle(statement.sqliteStatement) == db.sqliteConnection
        {
            return statement
        }
        let statement = try db.cachedStatement(sql: "\(sql)")
        index.remember(statement, for: key)
        return statement
    }

    /// One thread's index. Only its thread touches it.
    final class Index {
        struct Key: Hashable {
            let sql: UnsafeRawPointer
            let connection: ObjectIdentifier
        }

        struct Entry {
            weak var statement: Statement?
        }

        /// Entries of connections closed since are dead weight: past this many the index starts
        /// over (a server has a few connections and a few dozen hot statements).
        static let capacity = 512

        private(set) var entries: [Key: Entry] = [:]

        func remember(_ statement: Statement, for key: Key) {
            if self.entries.count >= Self.capacity { self.entries.removeAll(keepingCapacity: true) }
            self.entries[key] = Entry(statement: statement)
        }

        /// This thread's index, made on its first use and released when the thread exits.
        static var current: Index {
            if let existing = pthread_getspecific(self.key) {
                return Unmanaged<Index>.fromOpaque(existing).takeUnretainedValue()
            }
            let index = Index()
            pthread_setspecific(self.key, Unmanaged.passRetained(index).toOpaque())
            return index
        }

        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            let created = pthread_key_create(&key) { index in
                guard let index else { return }
                Unmanaged<Index>.fromOpaque(index).release()
            }
            precondition(created == 0, "pthread_key_create failed: \(created)")
            return key
        }()
    }
}
