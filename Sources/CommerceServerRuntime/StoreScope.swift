import CommercePostgres
import CommerceSQLite
import CommerceUseCases
import Logging

/// Opens the store for the time of `body` and closes it on every way out: the PostgreSQL database
/// if `postgres` is set (its connection pool a child task of this call), else the SQLite file of
/// `sqlite`.
public func withServedStore<Result>(
    sqlite: StoreConfiguration,
    postgres: PostgresStoreConfiguration?,
    logger: Logger,
    _ body: (any ServedStore) async throws -> Result
) async throws -> Result {
    if let postgres {
        return try await PostgresStore.withStore(postgres, logger: logger) { try await body($0) }
    }
    let store = try SQLiteStore(sqlite)
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
