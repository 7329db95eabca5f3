import GRDB
import GRDBSQLite

/// A value bound to a statement parameter straight through SQLite's C API.
protocol DirectBinding {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32
}

extension Int64: DirectBinding {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, self) }
}

/// SQLite's `SQLITE_TRANSIENT` (a macro Swift does not import): SQLite copies the bound text before
/// the bind call returns.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension String: DirectBinding {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        sqlite3_bind_text(statement, index, self, -1, sqliteTransient)
    }
}

/// Text already encoded as UTF-8, bound with its length (no `String` made for it, no `strlen`).
struct UTF8Text: DirectBinding {
    let bytes: [UInt8]

    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        self.bytes.withUnsafeBufferPointer { buffer in
            sqlite3_bind_text(
                statement,
                index,
                UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self),
                Int32(buffer.count),
                sqliteTransient
            )
        }
    }
}

extension Optional: DirectBinding where Wrapped: DirectBinding {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch self {
        case .some(let value): value.bind(to: statement, at: index)
        case .none: sqlite3_bind_null(statement, index)
        }
    }
}

/// The current row of a statement being stepped: columns by position.
struct DirectRow {
    let statement: OpaquePointer

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(self.statement, column) }

    func optionalInt64(_ column: Int32) -> Int64? {
        sqlite3_column_type(self.statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(self.statement, column)
    }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(self.statement, column) else { return "" }
        return String(cString: text)
    }
}

extension Database {
    /// Rows changed by the last statement: GRDB's `changesCount` without its check of the calling
    /// queue (a Dispatch lookup on every call), for the guards of the hot paths.
    var directChanges: Int { Int(sqlite3_changes64(self.sqliteConnection)) }

    /// Rows changed since the connection opened: GRDB's `totalChangesCount` without its queue check.
    var directTotalChanges: Int { Int(sqlite3_total_changes64(self.sqliteConnection)) }

    /// The bytes of page cache the connection holds (`SQLITE_DBSTATUS_CACHE_USED`).
    var cacheBytes: Int {
        var current: CInt = 0
        var highest: CInt = 0
        return sqlite3_db_status(self.sqliteConnection, SQLITE_DBSTATUS_CACHE_USED, &current, &highest, 0) == SQLITE_OK
            ? Int(current) : 0
    }

    /// Runs a statement of a hot path (the group commit's writes, the trivial read) — compiled once
    /// per connection, found by its literal's address (``HotStatements``) — binding its positional
    /// values through SQLite's C API and reading the first row it returns, if any, with `read` (it
    /// runs the statement to completion).
    ///
    /// GRDB's `execute(arguments:)` boxes every value into `StatementArguments` and wraps each
    /// binding in a closure; with a dozen statements per order on the one committing thread that
    /// was a fifth of an order's time. Plain data statements only: nothing GRDB tracks (no
    /// transaction or savepoint statements, no observed tables) goes through here.
    func fetchFirst<each Value: DirectBinding, Result>(
        direct sql: StaticString,
        _ values: repeat each Value,
        read: (DirectRow) -> Result
    ) throws -> Result? {
        try self.first(HotStatements.statement(sql, in: self), repeat each values, read: read)
    }

    /// ``fetchFirst(direct:_:read:)`` for SQL composed at run time (from constants), found in GRDB's
    /// statement cache by its text.
    func fetchFirst<each Value: DirectBinding, Result>(
        composed sql: String,
        _ values: repeat each Value,
        read: (DirectRow) -> Result
    ) throws -> Result? {
        try self.first(self.cachedStatement(sql: sql), repeat each values, read: read)
    }

    /// Runs a statement with directly bound values (see ``fetchFirst(direct:_:read:)``) and hands
    /// every row it returns to `body`, in order.
    func forEachRow<each Value: DirectBinding>(
        direct sql: StaticString,
        _ values: repeat each Value,
        row body: (DirectRow) throws -> Void
    ) throws {
        try self.step(HotStatements.statement(sql, in: self), repeat each values, row: body)
    }

    /// ``forEachRow(direct:_:row:)`` for SQL composed at run time (from constants), found in GRDB's
    /// statement cache by its text.
    func forEachRow<each Value: DirectBinding>(
        composed sql: String,
        _ values: repeat each Value,
        row body: (DirectRow) throws -> Void
    ) throws {
        try self.step(self.cachedStatement(sql: sql), repeat each values, row: body)
    }

    /// Runs a write statement of the hot path with directly bound values (see ``fetchFirst(direct:_:read:)``).
    func execute<each Value: DirectBinding>(direct sql: StaticString, _ values: repeat each Value) throws {
        try self.step(HotStatements.statement(sql, in: self), repeat each values) { _ in }
    }

    /// ``execute(direct:_:)`` for SQL composed at run time (from constants).
    func execute<each Value: DirectBinding>(composed sql: String, _ values: repeat each Value) throws {
        try self.step(self.cachedStatement(sql: sql), repeat each values) { _ in }
    }

    /// The first row `compiled` returns for `values`, read with `read` (the statement runs to its end).
    private func first<each Value: DirectBinding, Result>(
        _ compiled: Statement,
        _ values: repeat each Value,
        read: (DirectRow) -> Result
    ) throws -> Result? {
        var result: Result?
        try self.step(compiled, repeat each values) { row in
            if result == nil { result = read(row) }
        }
        return result
    }

    /// Binds `values` to `statement`, steps it to its end handing every row to `body`, and leaves it
    /// reset with no bindings.
    private func step<each Value: DirectBinding>(
        _ compiled: Statement,
        _ values: repeat each Value,
        row body: (DirectRow) throws -> Void
    ) throws {
        let statement = compiled.sqliteStatement
        sqlite3_reset(statement)
        var index: Int32 = 0
        for value in repeat each values {
            index += 1
            let code = value.bind(to: statement, at: index)
            guard code == SQLITE_OK else { throw self.directError(code, statement) }
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_DONE:
                return
            case SQLITE_ROW:
                try body(DirectRow(statement: statement))
            case let code:
                throw self.directError(code, statement)
            }
        }
    }

    private func directError(_ code: Int32, _ statement: OpaquePointer) -> DatabaseError {
        let message = self.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: message,
            sql: sqlite3_sql(statement).map { String(cString: $0) }
        )
    }
}
