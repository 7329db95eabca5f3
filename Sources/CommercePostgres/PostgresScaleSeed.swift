import CommerceDomain
import CommerceUseCases
import PostgresNIO

/// `commerce-server seed --scale` on PostgreSQL: the rows SQLite's `ScaleSeed` writes for the same
/// plan (users, products, paid orders with their lines, payments, history, delivered events of the
/// retention, rollups and the kept windows, unpaid orders past their time), by bulk SQL over
/// `generate_series` in one transaction, so the audit passes and a server can start on it.
///
/// What differs from SQLite: foreign keys cannot wait for the commit, so the lines are computed
/// into a temporary table first and the orders (whose totals are their sums) go in before them;
/// events are marked delivered one by one (`delivered_at`), as this store's relay records them;
/// and rows given explicit ids leave their identity sequences behind, so each is moved past its
/// table's highest id at the end; and the planner's statistics are gathered (`ANALYZE`) after it.
public enum PostgresScaleSeed {
    /// Fills an empty database (no users, products or orders).
    /// - Parameter progress: called with each step's name as it starts.
    public static func seed(
        into store: PostgresStore,
        plan: ScaleSeedPlan,
        now: UnixMillis = systemClock(),
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> ScaleSeedPlan.Seeded {
        precondition(plan.users >= 2 && plan.products >= 4 && plan.orders >= 1 && plan.days >= 1)
        let prunedBefore = plan.eventRetentionMillis.map { now - $0 } ?? 0
        let calendar = store.calendar
        let today = calendar.day(containing: now)
        let firstDay = today.adding(days: 1 - plan.days)
        let windowStart = calendar.start(of: firstDay)
        let step = max(1, (now - windowStart) / Int64(plan.orders))
        let createdAt = windowStart - 1_000
        let spread = Int64(min(plan.pendingProducts ?? plan.products, plan.products))
        // Each day of the window and the range of order ids it holds (order k, from 0, was placed
        // at windowStart + k × step).
        func firstOrder(atOrAfter instant: UnixMillis) -> Int64 {
            min(Int64(plan.orders), max(0, (instant - windowStart + step - 1) / step))
        }
        let days: [(day: Int64, first: Int64, last: Int64)] = (0..<plan.days).map { offset in
            let day = firstDay.adding(days: offset)
            let end =
                offset == plan.days - 1
                ? Int64(plan.orders) : firstOrder(atOrAfter: calendar.start(of: day.adding(days: 1)))
            return (day.rawValue, firstOrder(atOrAfter: calendar.start(of: day)) + 1, end)
        }
        let (users, products, orders) = (Int64(plan.users), Int64(plan.products), Int64(plan.orders))
        let (heavy, pending) = (Int64(plan.heavyUserOrders), Int64(plan.pending))
        let (balance, stock) = (ScaleSeedPlan.balance, ScaleSeedPlan.stock)
        let keptFrom = today.adding(days: -PruneWindowTotals.keptDays).rawValue
        let steps: [(String, PostgresQuery)] = [
            (
                "products",
                """
                INSERT INTO products (id, name, price, stock, initial_stock, created_at)
                SELECT i, 'product ' || i, 100 + ((i - 1) % 1000) * 10, \(stock), \(stock), \(createdAt)
                FROM generate_series(1::BIGINT, \(products)) i
                """
            ),
            (
                "users",
                """
                INSERT INTO users (id, name, balance, created_at)
                SELECT i, 'user ' || i, \(balance), \(createdAt) FROM generate_series(1::BIGINT, \(users)) i
                """
            ),
            (
                "each user's first charge",
                """
                INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at)
                SELECT id, id, 'CHARGE', balance, balance, created_at FROM users ORDER BY id
                """
            ),
            // As SQLite's seed: order k has up to 1 + k % 4 lines, line j names product
            // 1 + ⌊a·b / P⌋ for two spread residues a, b mod P, 1 + (k + j) % 3 units; a product
            // named twice is one line, the first naming's.
            (
                "order lines (computed)",
                """
                CREATE TEMPORARY TABLE seed_lines ON COMMIT DROP AS
                SELECT DISTINCT ON (order_id, product_id) order_id, product_id,
                       100 + ((product_id - 1) % 1000) * 10 AS unit_price, quantity
                FROM (SELECT k + 1 AS order_id,
                             1 + ((k * 31 + j * 7907) % \(products)) * ((k * 7919 + j * 104729 + 11) % \(products)) / \(products) AS product_id,
                             1 + (k + j) % 3 AS quantity, j
                      FROM generate_series(0::BIGINT, \(orders) - 1) k
                      JOIN generate_series(0::BIGINT, 3) j ON j <= k % 4) named
                ORDER BY order_id, product_id, j
                """
            ),
            // The first `heavy` orders are the first user's; the rest go round the others.
            (
                "orders",
                """
                INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, paid_at)
                SELECT order_id,
                       CASE WHEN order_id <= \(heavy) THEN 1 ELSE 2 + ((order_id - 1) * 7919) % (\(users) - 1) END,
                       'PAID', SUM(unit_price * quantity), 0, \(windowStart) + (order_id - 1) * \(step),
                       \(windowStart) + (order_id - 1) * \(step), \(windowStart) + (order_id - 1) * \(step)
                FROM seed_lines GROUP BY order_id ORDER BY order_id
                """
            ),
            (
                "order lines",
                """
                INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
                SELECT order_id, product_id, 'product ' || product_id, unit_price, quantity
                FROM seed_lines ORDER BY order_id, product_id
                """
            ),
            (
                "balance history: a charge of each order's total, then its payment",
                """
                INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at)
                SELECT \(users) + 2 * (o.id - 1) + 1 + m, o.user_id, CASE m WHEN 0 THEN 'CHARGE' ELSE 'USE' END,
                       CASE m WHEN 0 THEN o.total ELSE -o.total END,
                       CASE m WHEN 0 THEN \(balance) + o.total ELSE \(balance) END, o.created_at
                FROM orders o CROSS JOIN generate_series(0::BIGINT, 1) m ORDER BY o.id, m
                """
            ),
            (
                "payments",
                """
                INSERT INTO payments (id, order_id, kind, amount, balance_entry_id, created_at)
                SELECT id, id, 'PAYMENT', total, \(users) + 2 * id, created_at FROM orders ORDER BY id
                """
            ),
            (
                "events (delivered)",
                """
                INSERT INTO outbox (id, event_id, kind, order_id, payload, created_at, delivered_at)
                SELECT o.id, 'seed-' || lpad(o.id::TEXT, 12, '0'), 'ORDER_PAID', o.id,
                       json_build_object('amount', o.total, 'discount', 0, 'event_id', 'seed-' || lpad(o.id::TEXT, 12, '0'),
                           'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                               'product_name', l.product_name, 'quantity', l.quantity, 'unit_price', l.unit_price)
                               ORDER BY l.product_id) FROM order_lines l WHERE l.order_id = o.id),
                           'occurred_at_unix_ms', o.created_at, 'order_id', o.id, 'total', o.total,
                           'type', 'ORDER_PAID', 'user_id', o.user_id)::TEXT,
                       o.created_at, o.created_at
                FROM orders o WHERE o.created_at >= \(prunedBefore) ORDER BY o.id
                """
            ),
            // Unpaid orders after the paid ones, one line each, created ten minutes before the seed
            // and due five minutes later.
            (
                "unpaid orders",
                """
                INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, expires_at)
                SELECT \(orders) + i + 1, 2 + ((\(orders) + i) * 7919) % (\(users) - 1), 'PENDING_PAYMENT',
                       (100 + ((product - 1) % 1000) * 10) * (1 + i % 3), 0,
                       \(now) - 600000, \(now) - 600000, \(now) - 300000
                FROM (SELECT i, 1 + ((i * 31) % \(spread)) * ((i * 7919 + 11) % \(spread)) / \(spread) AS product
                      FROM generate_series(0::BIGINT, \(pending) - 1) i) unpaid
                ORDER BY i
                """
            ),
            (
                "unpaid order lines",
                """
                INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
                SELECT \(orders) + i + 1, product, 'product ' || product, 100 + ((product - 1) % 1000) * 10, 1 + i % 3
                FROM (SELECT i, 1 + ((i * 31) % \(spread)) * ((i * 7919 + 11) % \(spread)) / \(spread) AS product
                      FROM generate_series(0::BIGINT, \(pending) - 1) i) unpaid
                ORDER BY i
                """
            ),
            (
                "products' sold counts",
                """
                UPDATE products SET sold = sold.quantity, stock = initial_stock - sold.quantity
                FROM (SELECT product_id, SUM(quantity)::BIGINT AS quantity FROM order_lines GROUP BY product_id) sold
                WHERE products.id = sold.product_id
                """
            ),
            // As a running server keeps them: the window totals of the last week only (the rollups'
            // trigger writes no window before `kept_from`).
            (
                "window totals kept from a week back",
                "UPDATE window_totals_kept SET kept_from = \(keptFrom) WHERE id = 1"
            ),
            (
                "rollups per day and product",
                """
                INSERT INTO product_daily_sales (day, product_id, quantity, orders)
                SELECT d.day, l.product_id, SUM(l.quantity), COUNT(*)
                FROM unnest(\(days.map(\.day)), \(days.map(\.first)), \(days.map(\.last))) AS d(day, first_order, last_order)
                JOIN order_lines l ON l.order_id BETWEEN d.first_order AND d.last_order
                GROUP BY d.day, l.product_id
                """
            ),
            ("the relay's pruning mark", "UPDATE outbox_relay SET pruned_before = \(prunedBefore) WHERE id = 1"),
        ]
        return try await store.withSession { session in
            try await session.control("BEGIN")
            do {
                let empty = try await session.first(
                    """
                    SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM products)
                       AND NOT EXISTS (SELECT 1 FROM orders)
                    """,
                    as: Bool.self
                )
                guard empty == true else { throw NotEmpty() }
                try await session.control("SET LOCAL work_mem = '256MB'")
                for (name, query) in steps {
                    progress(name)
                    try await session.write(query)
                }
                progress("identity sequences past the seeded ids")
                for table in ["users", "products", "orders", "balance_entries", "payments", "outbox"] {
                    try await session.write(
                        PostgresQuery(
                            unsafeSQL: """
                                SELECT setval(pg_get_serial_sequence('\(table)', 'id'),
                                              (SELECT COALESCE(MAX(id), 0) + 1 FROM \(table)), false)
                                """
                        )
                    )
                }
                let lines = try await session.first("SELECT COUNT(*) FROM order_lines", as: Int64.self) ?? 0
                try await session.control("COMMIT")
                // The planner's statistics of tables that were empty a moment ago: without them the
                // first queries plan for empty tables until autovacuum gets round to them.
                progress("statistics (ANALYZE)")
                try await session.control("ANALYZE")
                return ScaleSeedPlan.Seeded(
                    users: plan.users,
                    products: plan.products,
                    orders: plan.orders,
                    lines: Int(lines)
                )
            } catch {
                try? await session.control("ROLLBACK")
                throw error
            }
        }
    }
}
