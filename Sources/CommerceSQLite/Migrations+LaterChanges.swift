import CommerceDomain
import GRDB

extension Migrations {
    /// v9–v13: append-only ledgers, cheaper checks, the shop's calendar, pruned events, and the
    /// rankings' indexes and kept totals.
    static func registerLaterChanges(in migrator: inout DatabaseMigrator, calendar: ShopCalendar) {
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
    }
}
