import CommerceDomain
import CommerceUseCases
import GRDB

/// A database the size of a year of a busy shop, for `benchmarks/data-growth.sh`
/// (`commerce-server seed --scale`): users, products, and paid orders with their lines, payments,
/// balance history, delivered events and per-day rollups, spread over the last `days` days of the
/// shop's calendar.
///
/// Bulk SQL, not the API: each table is filled by one `INSERT … SELECT` over a generated series,
/// so 10 M orders take minutes. What it writes is what PlaceOrder would have written, and the
/// audit passes: every buyer was charged an order's total just before paying it (a CHARGE, then a
/// USE, so every balance stays within the policy's ceiling), every order's lines took stock, every
/// payment of the last week has its event (delivered: the history happened before this server
/// existed; older events were pruned, as a server's relay prunes them), and the
/// rollups sum the lines of paid orders per day. Deterministic: the same plan gives the same
/// database.
public enum ScaleSeed {
    public typealias Plan = ScaleSeedPlan
    public typealias Seeded = ScaleSeedPlan.Seeded

    /// Fills an empty database (no users, products or orders).
    /// - Parameter progress: called with each step's name as it starts.
    public static func seed(
        into store: SQLiteStore,
        plan: Plan,
        now: UnixMillis = systemClock(),
        progress: (String) -> Void = { _ in }
    ) throws -> Seeded {
        precondition(plan.users >= 2 && plan.products >= 4 && plan.orders >= 1 && plan.days >= 1)
        // Events of orders older than the retention were delivered and pruned, as a running server's
        // relay would have (a database seeded with every event would make the first server prune
        // 10 M of them, under the benchmark's load).
        let prunedBefore = plan.eventRetentionMillis.map { now - $0 } ?? 0
        let calendar = store.configuration.calendar
        let today = calendar.day(containing: now)
        let firstDay = today.adding(days: 1 - plan.days)
        let windowStart = calendar.start(of: firstDay)
        let step = max(1, (now - windowStart) / Int64(plan.orders))
        let createdAt = windowStart - 1_000
        let spread = min(plan.pendingProducts ?? plan.products, plan.products)
        try store.pool.writeWithoutTransaction { db in
            let empty = try Bool.fetchOne(
                db,
                sql: """
                    SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM products)
                       AND NOT EXISTS (SELECT 1 FROM orders)
                    """
            )
            guard empty == true else { throw NotEmpty() }
            try db.execute(sql: "PRAGMA cache_size = -1000000")  // 1 GB for this connection's big sorts
            // Each day of the window and the orders it holds: order k (from 0) was placed at
            // windowStart + k × step, so a day's orders are a range of ids.
            try db.execute(
                sql: "CREATE TEMP TABLE seed_days (day INTEGER PRIMARY KEY, first_order INTEGER, last_order INTEGER)"
            )
            func firstOrder(atOrAfter instant: UnixMillis) -> Int64 {
                min(Int64(plan.orders), max(0, (instant - windowStart + step - 1) / step))
            }
            for offset in 0..<plan.days {
                let day = firstDay.adding(days: offset)
                let first = firstOrder(atOrAfter: calendar.start(of: day))
                let end =
                    offset == plan.days - 1
                    ? Int64(plan.orders) : firstOrder(atOrAfter: calendar.start(of: day.adding(days: 1)))
                try db.execute(
                    sql: "INSERT INTO seed_days (day, first_order, last_order) VALUES (?, ?, ?)",
                    arguments: [day.rawValue, first + 1, end]
                )
            }
            let steps: [(String, String, StatementArguments)] = [
                (
                    "products",
                    """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :products)
                    INSERT INTO products (id, name, price, stock, initial_stock, created_at)
                    SELECT i, 'product ' || i, 100 + ((i - 1) % 1000) * 10, :stock, :stock, :at FROM n
                    """,
                    ["products": plan.products, "stock": ScaleSeedPlan.stock, "at": createdAt]
                ),
                (
                    "users",
                    """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :users)
                    INSERT INTO users (id, name, balance, created_at) SELECT i, 'user ' || i, :balance, :at FROM n
                    """,
                    ["users": plan.users, "balance": ScaleSeedPlan.balance, "at": createdAt]
                ),
                (
                    "each user's first charge",
                    """
                    INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at)
                    SELECT id, id, 'CHARGE', balance, balance, created_at FROM users ORDER BY id
                    """,
                    [:]
                ),
                // Order k (from 0) has up to 1 + k % 4 lines (a product named twice is one line); line
                // j names product 1 + ⌊a·b / P⌋ for two spread residues a, b mod P: a product of two
                // uniforms, so sales are skewed towards low ids as a shop's are (best sellers stand out),
                // at its price, 1 + (k + j) % 3 units.
                (
                    "order lines",
                    """
                    WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < :orders - 1),
                         j(m) AS (VALUES (0), (1), (2), (3)),
                         lines AS (SELECT i, m, 1 + ((i * 31 + m * 7907) % :products) * ((i * 7919 + m * 104729 + 11) % :products) / :products AS product
                                   FROM k JOIN j ON j.m <= i % 4)
                    INSERT OR IGNORE INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
                    SELECT i + 1, product, 'product ' || product, 100 + ((product - 1) % 1000) * 10, 1 + (i + m) % 3
                    FROM lines ORDER BY i, product
                    """,
                    ["orders": plan.orders, "products": plan.products]
                ),
                // The first `heavy` orders are the first user's; the rest go round the others.
                (
                    "orders",
                    """
                    INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, paid_at)
                    SELECT order_id,
                           CASE WHEN order_id <= :heavy THEN 1 ELSE 2 + ((order_id - 1) * 7919) % (:users - 1) END,
                           'PAID', SUM(unit_price * quantity), 0,
                           :start + (order_id - 1) * :step, :start + (order_id - 1) * :step, :start + (order_id - 1) * :step
                    FROM order_lines GROUP BY order_id ORDER BY order_id
                    """,
                    ["heavy": plan.heavyUserOrders, "users": plan.users, "start": windowStart, "step": step]
                ),
                (
                    "balance history: a charge of each order's total, then its payment",
                    """
                    WITH kinds(m) AS (VALUES (0), (1))
                    INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at)
                    SELECT :users + 2 * (o.id - 1) + 1 + m, o.user_id, CASE m WHEN 0 THEN 'CHARGE' ELSE 'USE' END,
                           CASE m WHEN 0 THEN o.total ELSE -o.total END,
                           CASE m WHEN 0 THEN :balance + o.total ELSE :balance END, o.created_at
                    FROM orders o JOIN kinds ORDER BY o.id, m
                    """,
                    ["users": plan.users, "balance": ScaleSeedPlan.balance]
                ),
                (
                    "payments",
                    """
                    INSERT INTO payments (id, order_id, kind, amount, balance_entry_id, created_at)
                    SELECT id, id, 'PAYMENT', total, :users + 2 * id, created_at FROM orders ORDER BY id
                    """,
                    ["users": plan.users]
                ),
                (
                    "events (delivered)",
                    """
                    INSERT INTO outbox (id, event_id, kind, order_id, payload, created_at)
                    SELECT o.id, printf('seed-%012d', o.id), 'ORDER_PAID', o.id,
                           json_object('amount', o.total, 'discount', 0, 'event_id', printf('seed-%012d', o.id),
                               'lines', (SELECT json_group_array(json_object('product_id', l.product_id,
                                   'product_name', l.product_name, 'quantity', l.quantity, 'unit_price', l.unit_price))
                                   FROM order_lines l WHERE l.order_id = o.id),
                               'occurred_at_unix_ms', o.created_at, 'order_id', o.id, 'total', o.total,
                               'type', 'ORDER_PAID', 'user_id', o.user_id),
                           o.created_at
                    FROM orders o WHERE o.created_at >= :prunedBefore ORDER BY o.id
                    """,
                    ["prunedBefore": prunedBefore]
                ),
                // Unpaid orders, ids after the paid ones, each of one line (the same skewed choice of
                // product), created ten minutes before the seed and due five minutes later. Each
                // order goes in before its line: a line waiting for its order would make SQLite look
                // for the new order's rows in every table that refers to orders (payments and events
                // have no index on it), once per order.
                (
                    "unpaid orders",
                    """
                    WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < :pending - 1),
                         lines AS (SELECT i, 1 + ((i * 31) % :spread) * ((i * 7919 + 11) % :spread) / :spread AS product FROM k)
                    INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, expires_at)
                    SELECT :orders + i + 1, 2 + ((:orders + i) * 7919) % (:users - 1), 'PENDING_PAYMENT',
                           (100 + ((product - 1) % 1000) * 10) * (1 + i % 3), 0, :now - 600000, :now - 600000, :now - 300000
                    FROM lines WHERE :pending > 0 ORDER BY i
                    """,
                    [
                        "pending": plan.pending, "spread": spread, "orders": plan.orders, "users": plan.users,
                        "now": now,
                    ]
                ),
                (
                    "unpaid order lines",
                    """
                    WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < :pending - 1),
                         lines AS (SELECT i, 1 + ((i * 31) % :spread) * ((i * 7919 + 11) % :spread) / :spread AS product FROM k)
                    INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
                    SELECT :orders + i + 1, product, 'product ' || product, 100 + ((product - 1) % 1000) * 10, 1 + i % 3
                    FROM lines WHERE :pending > 0 ORDER BY i
                    """,
                    ["pending": plan.pending, "spread": spread, "orders": plan.orders]
                ),
                (
                    "products' sold counts",
                    """
                    WITH sold AS (SELECT product_id, SUM(quantity) AS quantity FROM order_lines GROUP BY product_id)
                    UPDATE products SET sold = sold.quantity, stock = initial_stock - sold.quantity
                    FROM sold WHERE products.id = sold.product_id
                    """,
                    [:]
                ),
                // As a running server keeps them: the window totals of the last week only (the
                // rollups' triggers write no window before `kept_from`).
                (
                    "window totals kept from a week back",
                    "UPDATE window_totals_kept SET kept_from = :keptFrom WHERE id = 1",
                    ["keptFrom": today.adding(days: -PruneWindowTotals.keptDays).rawValue]
                ),
                (
                    "rollups per day and product",
                    """
                    INSERT INTO product_daily_sales (day, product_id, quantity, orders)
                    SELECT d.day, l.product_id, SUM(l.quantity), COUNT(*)
                    FROM seed_days d JOIN order_lines l ON l.order_id BETWEEN d.first_order AND d.last_order
                    GROUP BY d.day, l.product_id
                    """,
                    [:]
                ),
                (
                    "the relay's cursor",
                    """
                    UPDATE outbox_relay SET delivered_through = (SELECT COALESCE(MAX(id), 0) FROM outbox),
                                            pruned_before = :prunedBefore
                    """,
                    ["prunedBefore": prunedBefore]
                ),
            ]
            // Lines come before their orders (an order's total is their sum): one transaction,
            // its foreign keys checked at the commit.
            var index = 0
            while index < steps.count {
                let together = steps[index].0 == "order lines" ? 2 : 1
                try db.inTransaction {
                    try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                    for (name, sql, arguments) in steps[index..<(index + together)] {
                        progress(name)
                        try db.execute(sql: sql, arguments: arguments)
                    }
                    return .commit
                }
                index += together
            }
            try db.execute(sql: "DROP TABLE temp.seed_days")
        }
        let lines = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM order_lines") ?? 0 }
        return Seeded(users: plan.users, products: plan.products, orders: plan.orders, lines: lines)
    }
}
