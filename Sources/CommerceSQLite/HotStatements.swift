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
/// table from (literal address, connection) to the statement GRDB compiled and still caches: a
/// lookup mixes two words and loads one weak reference.
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
        let address = UnsafeRawPointer(sql.utf8Start)
        let connection = Unmanaged.passUnretained(db).toOpaque()
        if let statement = index.find(address, connection),
            sqlite3_db_handle(statement.sqliteStatement) == db.sqliteConnection
        {
            return statement
        }
        let statement = try db.cachedStatement(sql: "\(sql)")
        index.remember(statement, for: address, connection)
        return statement
    }

    /// One thread's index: an open-addressing table keyed by two addresses, holding each statement
    /// through a weak reference. Only its thread touches it.
    final class Index {
        private final class Slot {
            weak var statement: Statement?
            init(_ statement: Statement) { self.statement = statement }
        }

        private struct Entry {
            var sql: UnsafeRawPointer?
            var connection: UnsafeMutableRawPointer?
            var slot: Unmanaged<Slot>?
        }

        /// A server has a few connections and a few dozen hot statements. Entries of connections
        /// closed since are dead weight: once half the table is used, it starts over.
        private static let size = 512
        private let entries = UnsafeMutablePointer<Entry>.allocate(capacity: Index.size)
        private var used = 0

        init() {
            self.entries.initialize(repeating: Entry(), count: Self.size)
        }

        deinit {
            self.clear()
            self.entries.deinitialize(count: Self.size)
            self.entries.deallocate()
        }

        private static func start(_ sql: UnsafeRawPointer, _ connection: UnsafeMutableRawPointer) -> Int {
            let mixed = (UInt(bitPattern: sql) >> 3) ^ (UInt(bitPattern: connection) >> 4) &* 0x9E37_79B9
            return Int(mixed % UInt(Self.size))
        }

        func find(_ sql: UnsafeRawPointer, _ connection: UnsafeMutableRawPointer) -> Statement? {
            var position = Self.start(sql, connection)
            while let slot = self.entries[position].slot {
                if self.entries[position].sql == sql, self.entries[position].connection == connection {
                    return slot.takeUnretainedValue().statement
                }
                position = (position + 1) % Self.size
            }
            return nil
        }

        func remember(_ statement: Statement, for sql: UnsafeRawPointer, _ connection: UnsafeMutableRawPointer) {
            if self.used >= Self.size / 2 { self.clear() }
            var position = Self.start(sql, connection)
            while let slot = self.entries[position].slot {
                if self.entries[position].sql == sql, self.entries[position].connection == connection {
                    slot.takeUnretainedValue().statement = statement
                    return
                }
                position = (position + 1) % Self.size
            }
            self.entries[position] = Entry(sql: sql, connection: connection, slot: .passRetained(Slot(statement)))
            self.used += 1
        }

        private func clear() {
            for position in 0..<Self.size {
                self.entries[position].slot?.release()
                self.entries[position] = Entry()
            }
            self.used = 0
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
