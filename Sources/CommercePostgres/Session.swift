import Logging
import PostgresNIO

/// One connection, used by one task at a time (a write lane's batch, or one read), with the few
/// query shapes the store needs. It remembers whether it has written, so a lane knows whether a
/// failed write left changes behind in the batch's transaction.
final class Session: @unchecked Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// A statement that may change rows ran since ``resetWrites()``.
    private(set) var wrote = false

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// A statement failed since ``resetWrites()``: PostgreSQL has aborted the transaction.
    private(set) var statementFailed = false

    func resetWrites() {
        self.wrote = false
        self.statementFailed = false
    }

    /// Runs `query`, handing each row to `body`; a failure marks the transaction aborted.
    private func each(_ query: PostgresQuery, _ body: (PostgresRow) throws -> Void) async throws {
        do {
            for try await row in try await self.connection.query(query, logger: self.logger) { try body(row) }
        } catch {
            self.statementFailed = true
            throw error
        }
    }

    /// Every value of a one-column read.
    func all<Value: PostgresDecodable>(_ query: PostgresQuery, as: Value.Type) async throws -> [Value] {
        var values: [Value] = []
        try await self.each(query) { values.append(try $0.decode(Value.self)) }
        return values
    }

    /// The first value of a one-column read; nil when there is no row.
    func first<Value: PostgresDecodable>(_ query: PostgresQuery, as: Value.Type) async throws -> Value? {
        try await self.all(query, as: Value.self).first
    }

    /// A statement that may change rows, returning one column.
    @discardableResult
    func write<Value: PostgresDecodable>(_ query: PostgresQuery, returning: Value.Type) async throws -> [Value] {
        let rows = try await self.all(query, as: Value.self)
        // RETURNING gives one row per row changed: a guard that refused changed nothing.
        if !rows.isEmpty { self.wrote = true }
        return rows
    }

    /// Every row of a read, decoded.
    @_disfavoredOverload
    func all<each Column: PostgresDecodable>(
        _ query: PostgresQuery,
        as: (repeat each Column).Type
    ) async throws -> [(repeat each Column)] {
        var rows: [(repeat each Column)] = []
        try await self.each(query) { rows.append(try $0.decode((repeat each Column).self)) }
        return rows
    }

    /// The first row of a read, decoded; nil when there is none.
    @_disfavoredOverload
    func first<each Column: PostgresDecodable>(
        _ query: PostgresQuery,
        as: (repeat each Column).Type
    ) async throws -> (repeat each Column)? {
        try await self.all(query, as: (repeat each Column).self).first
    }

    /// A statement that may change rows; returns what its RETURNING clause gives (empty if it has none).
    @discardableResult
    @_disfavoredOverload
    func write<each Column: PostgresDecodable>(
        _ query: PostgresQuery,
        returning: (repeat each Column).Type
    ) async throws -> [(repeat each Column)] {
        let rows = try await self.all(query, as: (repeat each Column).self)
        if !rows.isEmpty { self.wrote = true }
        return rows
    }

    /// A statement that may change rows and returns none.
    func write(_ query: PostgresQuery) async throws {
        self.wrote = true
        try await self.each(query) { _ in }
    }

    /// Every row of a prepared statement (prepared on this connection at its first use).
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        var rows: [Statement.Row] = []
        do {
            for try await row in try await self.connection.execute(statement, logger: self.logger) { rows.append(row) }
        } catch {
            self.statementFailed = true
            throw error
        }
        return rows
    }

    /// A statement run through ``rows(_:)`` changed rows.
    func markWrote() {
        self.wrote = true
    }

    /// A statement outside the store's data (BEGIN, SAVEPOINT, COMMIT).
    func control(_ query: PostgresQuery) async throws {
        try await self.each(query) { _ in }
    }
}
