import CommerceDomain
import GRDB

/// The schema, one registered migration per shipped change. Never edit a migration that has shipped;
/// add a new one.
enum Migrations {
    /// - Parameter calendar: the shop's calendar for a migration that needs one (v10 counts the
    ///   rollups of existing sales in it).
    static func migrator(calendar: ShopCalendar) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, balance history, idempotency keys, products") { db in
            try db.execute(
                sql: """
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
                    """
            )
        }
        migrator.registerMigration("v2: coupon campaigns, coupons, orders, lines, payments") { db in
            try db.execute(
                sql: """
                    CREATE TABLE coupon_campaigns (
                        id             INTEGER PRIMARY KEY AUTOINCREMENT,
                        name           TEXT    NOT NULL,
                        kind           TEXT    NOT NULL CHECK (kind IN ('FIXED', 'PERCENT')),
                        amount         INTEGER NOT NULL CHECK (amount > 0),
                        max_discount   INTEGER NOT NULL DEFAULT 0 CHECK (max_discount >= 0),
                        total_quantity INTEGER NOT NULL CHECK (total_quantity > 0),
                        issued         INTEGER NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= total_quantity),
                        valid_from     INTEGER NOT NULL,
                        valid_until    INTEGER NOT NULL CHECK (valid_until > valid_from),
                        created_at     INTEGER NOT NULL
                    );
                    CREATE TABLE coupons (
                        id          INTEGER PRIMARY KEY AUTOINCREMENT,
                        campaign_id INTEGER NOT NULL REFERENCES coupon_campaigns(id),
                        user_id     INTEGER NOT NULL REFERENCES users(id),
                        status      TEXT    NOT NULL CHECK (status IN ('AVAILABLE', 'USED')),
                        order_id    INTEGER,
                        issued_at   INTEGER NOT NULL,
                        used_at     INTEGER,
                        UNIQUE (campaign_id, user_id)
                    );
                    CREATE INDEX coupons_by_user ON coupons(user_id, id);
                    CREATE TABLE orders (
                        id          INTEGER PRIMARY KEY AUTOINCREMENT,
                        user_id     INTEGER NOT NULL REFERENCES users(id),
                        status      TEXT    NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'REFUNDED', 'EXPIRED')),
                        total       INTEGER NOT NULL CHECK (total >= 0),
                        discount    INTEGER NOT NULL CHECK (discount >= 0 AND discount <= total),
                        coupon_id   INTEGER REFERENCES coupons(id),
                        created_at  INTEGER NOT NULL,
                        updated_at  INTEGER NOT NULL
                    );
                    CREATE INDEX orders_by_user ON orders(user_id, id);
                    CREATE TABLE order_lines (
                        order_id     INTEGER NOT NULL REFERENCES orders(id),
                        product_id   INTEGER NOT NULL REFERENCES products(id),
                        product_name TEXT    NOT NULL,
                        unit_price   INTEGER NOT NULL CHECK (unit_price > 0),
                        quantity     INTEGER NOT NULL CHECK (quantity > 0),
                        PRIMARY KEY (order_id, product_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE payments (
                        id               INTEGER PRIMARY KEY AUTOINCREMENT,
                        order_id         INTEGER NOT NULL REFERENCES orders(id),
                        kind             TEXT    NOT NULL CHECK (kind IN ('PAYMENT', 'REFUND')),
                        amount           INTEGER NOT NULL CHECK (amount >= 0),
                        balance_entry_id INTEGER NOT NULL REFERENCES balance_entries(id),
                        created_at       INTEGER NOT NULL
                    );
                    CREATE INDEX payments_by_order ON payments(order_id);
                    CREATE TABLE order_requests (
                        user_id       INTEGER NOT NULL,
                        key           TEXT    NOT NULL,
                        fingerprint   TEXT    NOT NULL,
                        order_id      INTEGER NOT NULL REFERENCES orders(id),
                        balance_after INTEGER NOT NULL,
                        PRIMARY KEY (user_id, key)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v3: per-day per-product sales rollups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE product_daily_sales (
                        day        INTEGER NOT NULL,
                        product_id INTEGER NOT NULL REFERENCES products(id),
                        quantity   INTEGER NOT NULL CHECK (quantity >= 0),
                        orders     INTEGER NOT NULL CHECK (orders >= 0),
                        PRIMARY KEY (day, product_id)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v4: carts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cart_items (
                        user_id    INTEGER NOT NULL REFERENCES users(id),
                        product_id INTEGER NOT NULL REFERENCES products(id),
                        quantity   INTEGER NOT NULL CHECK (quantity > 0),
                        added_at   INTEGER NOT NULL,
                        PRIMARY KEY (user_id, product_id)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v5: two-step orders (expiry, payment time)") { db in
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN expires_at INTEGER;
                    ALTER TABLE orders ADD COLUMN paid_at INTEGER;
                    CREATE INDEX orders_pending_by_expiry ON orders(expires_at) WHERE status = 'PENDING_PAYMENT';
                    """
            )
        }
        migrator.registerMigration("v6: transactional outbox for the data platform") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id              INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id        TEXT    NOT NULL UNIQUE,
                        kind            TEXT    NOT NULL CHECK (kind IN ('ORDER_PAID', 'ORDER_REFUNDED')),
                        order_id        INTEGER NOT NULL REFERENCES orders(id),
                        payload         TEXT    NOT NULL,
                        created_at      INTEGER NOT NULL,
                        attempts        INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL DEFAULT 0,
                        lease_until     INTEGER,
                        last_error      TEXT,
                        delivered_at    INTEGER
                    );
                    CREATE INDEX outbox_undelivered ON outbox(id) WHERE delivered_at IS NULL;
                    """
            )
        }
        migrator.registerMigration("v7: indexes for the audit (events by order, lines by product)") { db in
            try db.execute(
                sql: """
                    CREATE INDEX outbox_by_order ON outbox(order_id, kind);
                    CREATE INDEX order_lines_by_product ON order_lines(product_id);
                    """
            )
        }
        migrator.registerMigration("v8: the outbox is relayed from one cursor under one lease") { db in
            // Each event used to carry its own lease, attempts and delivered time, so relaying one
            // event rewrote its row twice (claim, then delivered) inside the commit path. Delivery is
            // in order anyway (a failed event holds back the ones after it), so one row now says how
            // far delivery got, who relays (lease), and how the event at the head is being retried.
            // Events already delivered out of order after an undelivered one are sent again (at least once).
            try db.execute(
                sql: """
                    CREATE TABLE outbox_relay (
                        id                INTEGER PRIMARY KEY CHECK (id = 1),
                        delivered_through INTEGER NOT NULL,
                        owner             TEXT,
                        lease_until       INTEGER NOT NULL DEFAULT 0,
                        head_attempts     INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at   INTEGER NOT NULL DEFAULT 0,
                        last_error        TEXT
                    );
                    INSERT INTO outbox_relay (id, delivered_through) VALUES (1, COALESCE(
                        (SELECT MIN(id) - 1 FROM outbox WHERE delivered_at IS NULL), (SELECT MAX(id) FROM outbox), 0));
                    DROP INDEX outbox_undelivered;
                    ALTER TABLE outbox DROP COLUMN attempts;
                    ALTER TABLE outbox DROP COLUMN next_attempt_at;
                    ALTER TABLE outbox DROP COLUMN lease_until;
                    ALTER TABLE outbox DROP COLUMN last_error;
                    ALTER TABLE outbox DROP COLUMN delivered_at;
                    """
            )
        }
        migrator.registerMigration("v9: append-only ledgers without AUTOINCREMENT or audit-only indexes") { db in
            // Orders, balance entries, payments and events are only ever appended: triggers now make
            // the database refuse a DELETE, so `max(id) + 1` (SQLite's plain INTEGER PRIMARY KEY)
            // never hands out an id twice, and AUTOINCREMENT's bookkeeping — a read and a write of
            // `sqlite_sequence` for every row inserted, four per order — bought nothing. Each table
            // is rebuilt (SQLite cannot drop AUTOINCREMENT in place); GRDB runs migrations with
            // foreign keys off and checks them all before committing.
            //
            // Payments by order, events by order and order lines by product were looked up only by
            // the audit, one correlated subquery per order or product. The audit now reads each table
            // in one pass (grouped sums, and one NOT IN over the events, for which SQLite builds a
            // transient index), so those indexes are not rebuilt (or are dropped), and an order
            // writes three index entries less in the commit.
            try rebuild(
                db,
                "orders",
                columns: "id, user_id, status, total, discount, coupon_id, created_at, updated_at, expires_at, paid_at",
                as: """
                    id          INTEGER PRIMARY KEY,
                    user_id     INTEGER NOT NULL REFERENCES users(id),
                    status      TEXT    NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'REFUNDED', 'EXPIRED')),
                    total       INTEGER NOT NULL CHECK (total >= 0),
                    discount    INTEGER NOT NULL CHECK (discount >= 0 AND discount <= total),
                    coupon_id   INTEGER REFERENCES coupons(id),
                    created_at  INTEGER NOT NULL,
                    updated_at  INTEGER NOT NULL,
                    expires_at  INTEGER,
                    paid_at     INTEGER
                    """
            )
            try rebuild(
                db,
                "balance_entries",
                columns: "id, user_id, type, amount, balance_after, created_at",
                as: """
                    id            INTEGER PRIMARY KEY,
                    user_id       INTEGER NOT NULL REFERENCES users(id),
                    type          TEXT    NOT NULL CHECK (type IN ('CHARGE', 'USE', 'REFUND')),
                    amount        INTEGER NOT NULL,
                    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                    created_at    INTEGER NOT NULL
                    """
            )
            try rebuild(
                db,
                "payments",
                columns: "id, order_id, kind, amount, balance_entry_id, created_at",
                as: """
                    id               INTEGER PRIMARY KEY,
                    order_id         INTEGER NOT NULL REFERENCES orders(id),
                    kind             TEXT    NOT NULL CHECK (kind IN ('PAYMENT', 'REFUND')),
                    amount           INTEGER NOT NULL CHECK (amount >= 0),
                    balance_entry_id INTEGER NOT NULL REFERENCES balance_entries(id),
                    created_at       INTEGER NOT NULL
                    """
            )
            try rebuild(
                db,
                "outbox",
                columns: "id, event_id, kind, order_id, payload, created_at",
                as: """
                    id         INTEGER PRIMARY KEY,
                    event_id   TEXT    NOT NULL UNIQUE,
                    kind       TEXT    NOT NULL CHECK (kind IN ('ORDER_PAID', 'ORDER_REFUNDED')),
                    order_id   INTEGER NOT NULL REFERENCES orders(id),
                    payload    TEXT    NOT NULL,
                    created_at INTEGER NOT NULL
                    """
            )
            try db.execute(
                sql: """
                    CREATE INDEX orders_by_user ON orders(user_id, id);
                    CREATE INDEX orders_pending_by_expiry ON orders(expires_at) WHERE status = 'PENDING_PAYMENT';
                    CREATE INDEX balance_entries_by_user ON balance_entries(user_id, id);
                    DROP INDEX order_lines_by_product;
                    """
            )
            for table in ["orders", "balance_entries", "payments", "outbox"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER \(table)_append_only BEFORE DELETE ON \(table)
                        BEGIN SELECT RAISE(ABORT, '\(table) are append-only: rows are never deleted'); END;
                        """
                )
            }
        }
        migrator.registerMigration("v10: status and type checks without a transient index per row") { db in
            // SQLite checks `x IN (three or more constants)` by building a transient b-tree of the
            // constants — open, fill, search, close — each time the check runs: for every order
            // (`orders.status`) and every balance entry (`balance_entries.type`), on the one thread
            // that commits every write. The same rule as comparisons needs no b-tree; values and
            // meaning are unchanged (`benchmarks/README.md`, session 11).
            try rebuild(
                db,
                "orders",
                columns: "id, user_id, status, total, discount, coupon_id, created_at, updated_at, expires_at, paid_at",
                as: """
                    id          INTEGER PRIMARY KEY,
                    user_id     INTEGER NOT NULL REFERENCES users(id),
                    status      TEXT    NOT NULL CHECK (status = 'PENDING_PAYMENT' OR status = 'PAID' OR status = 'CANCELLED'
                                                        OR status = 'REFUNDED' OR status = 'EXPIRED'),
                    total       INTEGER NOT NULL CHECK (total >= 0),
                    discount    INTEGER NOT NULL CHECK (discount >= 0 AND discount <= total),
                    coupon_id   INTEGER REFERENCES coupons(id),
                    created_at  INTEGER NOT NULL,
                    updated_at  INTEGER NOT NULL,
                    expires_at  INTEGER,
                    paid_at     INTEGER
                    """
            )
            try rebuild(
                db,
                "balance_entries",
                columns: "id, user_id, type, amount, balance_after, created_at",
                as: """
                    id            INTEGER PRIMARY KEY,
                    user_id       INTEGER NOT NULL REFERENCES users(id),
                    type          TEXT    NOT NULL CHECK (type = 'CHARGE' OR type = 'USE' OR type = 'REFUND'),
                    amount        INTEGER NOT NULL,
                    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                    created_at    INTEGER NOT NULL
                    """
            )
            try db.execute(
                sql: """
                    CREATE INDEX orders_by_user ON orders(user_id, id);
                    CREATE INDEX orders_pending_by_expiry ON orders(expires_at) WHERE status = 'PENDING_PAYMENT';
                    CREATE INDEX balance_entries_by_user ON balance_entries(user_id, id);
                    DROP TRIGGER outbox_append_only;
                    CREATE TRIGGER outbox_append_only BEFORE DELETE ON outbox
                    BEGIN SELECT RAISE(ABORT, 'outbox events are append-only: rows are never deleted'); END;
                    """
            )
            for table in ["orders", "balance_entries"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER \(table)_append_only BEFORE DELETE ON \(table)
                        BEGIN SELECT RAISE(ABORT, '\(table) are append-only: rows are never deleted'); END;
                        """
                )
            }
        }
        migrator.registerMigration("v10: the shop's calendar and daily ranking snapshots") { db in
            // Rollups used to count UTC days. The database now records the time zone its rollups
            // count in; this migration re-counts existing sales in the calendar it runs with.
            try db.execute(
                sql: """
                    CREATE TABLE shop_calendar (
                        id        INTEGER PRIMARY KEY CHECK (id = 1),
                        time_zone TEXT    NOT NULL
                    );
                    INSERT INTO shop_calendar (id, time_zone) VALUES (1, 'UTC');
                    CREATE TABLE ranking_snapshot_days (
                        day      INTEGER PRIMARY KEY,
                        taken_at INTEGER NOT NULL
                    );
                    CREATE TABLE ranking_snapshots (
                        day        INTEGER NOT NULL REFERENCES ranking_snapshot_days(day),
                        rank_by    TEXT    NOT NULL CHECK (rank_by IN ('UNITS', 'ORDERS')),
                        days       INTEGER NOT NULL CHECK (days BETWEEN 1 AND 30),
                        position   INTEGER NOT NULL CHECK (position >= 1),
                        product_id INTEGER NOT NULL REFERENCES products(id),
                        quantity   INTEGER NOT NULL CHECK (quantity >= 0),
                        orders     INTEGER NOT NULL CHECK (orders >= 0),
                        PRIMARY KEY (day, rank_by, days, position)
                    ) WITHOUT ROWID;
                    """
            )
            if calendar.identifier != "UTC" { try SQLiteStore.recountRollups(db, in: calendar) }
        }
        migrator.registerMigration("v11: delivered events are pruned after a retention") { db in
            // The outbox grew with every order for ever, though a delivered event is never read
            // again. Delivered events older than `pruned_before` may now be deleted, and only those:
            // never one the relay has not delivered, never the newest (SQLite would hand its id
            // out again, and the relay's cursor would take the new event for delivered). The audit
            // looks for the events of payments made since `pruned_before`.
            try db.execute(
                sql: """
                    ALTER TABLE outbox_relay ADD COLUMN pruned_before INTEGER NOT NULL DEFAULT 0;
                    DROP TRIGGER outbox_append_only;
                    CREATE TRIGGER outbox_prune_only BEFORE DELETE ON outbox
                    WHEN old.id > (SELECT delivered_through FROM outbox_relay WHERE id = 1)
                      OR old.created_at >= (SELECT pruned_before FROM outbox_relay WHERE id = 1)
                      OR old.id = (SELECT MAX(id) FROM outbox)
                    BEGIN SELECT RAISE(ABORT, 'outbox events are deleted only once delivered and past the retention'); END;
                    """
            )
        }
        migrator.registerMigration("v12: each day's rollups by units and by orders, best first") { db in
            // TopProducts summed every rollup row of its window: with 100 k products selling every
            // day, 300 k rows a call (half a second). These indexes let it read each day best first
            // and stop as soon as the ranking is settled (TopSellersQuery).
            try db.execute(
                sql: """
                    CREATE INDEX product_daily_sales_by_units ON product_daily_sales(day, quantity DESC);
                    CREATE INDEX product_daily_sales_by_orders ON product_daily_sales(day, orders DESC);
                    """
            )
        }
        migrator.registerMigration("v13: the default window's totals, kept by the rollups' triggers") { db in
            // TopProducts' default question (the best sellers of the last three days) still read
            // each day of the window deep on 10 M orders. The window's totals per product are now
            // kept as the rollups change, best first, so the answer is the first rows of one index.
            try db.execute(sql: WindowTotals.schema)
        }
        return migrator
    }

    /// Gives `table` a new definition, SQLite's way: a new table, every row copied, the old table
    /// (with its indexes and triggers) dropped, the new one renamed. The caller recreates indexes.
    private static func rebuild(_ db: Database, _ table: String, columns: String, as definition: String) throws {
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
