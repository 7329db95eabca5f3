import CommerceDomain
import GRDB

/// The schema, one registered migration per shipped change. Never edit a migration that has shipped;
/// add a new one.
enum Migrations {
    /// - Parameter calendar: the shop's calendar for a migration that needs one (v10 counts the
    ///   rollups of existing sales in it).
    static func migrator(calendar: ShopCalendar) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        Self.registerFirstSchema(in: &migrator)
        Self.registerLaterChanges(in: &migrator, calendar: calendar)
        return migrator
    }

    /// Gives `table` a new definition, SQLite's way: a new table, every row copied, the old table
    /// (with its indexes and triggers) dropped, the new one renamed. The caller recreates indexes.
    static func rebuild(_ db: Database, _ table: String, columns: String, as definition: String) throws {
        try db.execute(
            sql: """
                CREATE TABLE new_\(table) (
                \(definition)
                );
                INSERT INTO new_\(table) (\(columns)) SELECT \(columns) FROM \(table);
                DROP TABLE \(table);
                ALTER TABLE new_\(table) RENAME TO \(table);
                """
        )
    }
}
