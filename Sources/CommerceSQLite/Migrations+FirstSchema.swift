import GRDB

extension Migrations {
    /// v1–v8: the tables as they first shipped, and the outbox's relay cursor.
    static func registerFirstSchema(in migrator: inout DatabaseMigrator) {
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
    }
}
