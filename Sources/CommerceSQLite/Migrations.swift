import GRDB

/// The schema, one registered migration per shipped change. Never edit a migration that has shipped;
/// add a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, balance history, idempotency keys, products") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    name        TEXT    NOT NULL,
                    balance     INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
                    created_at  INTEGER NOT NULL
                );
                CREATE TABLE balance_entries (
                    id            INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_id       INTEGER NOT NULL REFERENCES users(id),
                    type          TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE', 'REFUND')),
                    amount        INTEGER NOT NULL,
                    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                    created_at    INTEGER NOT NULL
                );
                CREATE INDEX balance_entries_by_user ON balance_entries(user_id, id);
                CREATE TABLE idempotency_keys (
                    scope         TEXT    NOT NULL,
                    user_id       INTEGER NOT NULL,
                    key           TEXT    NOT NULL,
                    amount        INTEGER NOT NULL,
                    balance_after INTEGER NOT NULL,
                    entry_id      INTEGER NOT NULL,
                    created_at    INTEGER NOT NULL,
                    PRIMARY KEY (scope, user_id, key)
                ) WITHOUT ROWID;
                CREATE TABLE products (
                    id            INTEGER PRIMARY KEY AUTOINCREMENT,
                    name          TEXT    NOT NULL,
                    price         INTEGER NOT NULL CHECK (price > 0),
                    stock         INTEGER NOT NULL CHECK (stock >= 0),
                    initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0),
                    restocked     INTEGER NOT NULL DEFAULT 0,
                    sold          INTEGER NOT NULL DEFAULT 0,
                    returned      INTEGER NOT NULL DEFAULT 0,
                    created_at    INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }
}
