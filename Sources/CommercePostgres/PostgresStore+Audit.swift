import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: AuditStore {
    /// The same rules as the SQLite store's audit, in one REPEATABLE READ snapshot: balances equal
    /// their history and its newest entry; stock is conserved and matches the live orders; rollups
    /// match the paid orders; coupons within quantity, one per user; paid orders have their payment,
    /// refunded ones their refund; every payment and refund has its event; a used coupon its order.
    public func checkInvariants() async throws -> [InvariantViolation] {
        try await self.read { session in
            var violations: [InvariantViolation] = []
            // A pass that checks two rules reports the second one's findings after the first's.
            var second: [InvariantViolation] = []
            func add(_ rule: String, _ subject: String, _ detail: String, after: Bool = false) {
                let violation = InvariantViolation(rule: rule, subject: subject, detail: detail)
                if after { second.append(violation) } else { violations.append(violation) }
            }
            func endPass() {
                violations += second
                second.removeAll()
            }
            for (id, balance, sum, last) in try await session.all(
                """
                WITH history AS (
                    SELECT user_id, SUM(amount)::BIGINT AS total, (MAX(ARRAY[id, balance_after]))[2] AS newest_after
                    FROM balance_entries GROUP BY user_id)
                SELECT u.id, u.balance, COALESCE(h.total, 0)::BIGINT, h.newest_after
                FROM users u LEFT JOIN history h ON h.user_id = u.id
                WHERE u.balance != COALESCE(h.total, 0) OR (h.newest_after IS NOT NULL AND h.newest_after != u.balance)
                """,
                as: (Int64, Int64, Int64, Int64?).self
            ) {
                if balance != sum {
                    add("balance-equals-history", "user \(id)", "balance \(balance) but history sums to \(sum)")
                }
                if let last, last != balance {
                    add("balance-equals-last-entry", "user \(id)", "balance \(balance) but newest entry says \(last)")
                }
            }
            for (id, stock, initial, restocked, sold, returned) in try await session.all(
                """
                SELECT id, stock, initial_stock, restocked, sold, returned FROM products
                WHERE stock != initial_stock + restocked - sold + returned OR stock < 0
                """,
                as: (Int64, Int64, Int64, Int64, Int64, Int64).self
            ) {
                add(
                    "stock-conservation",
                    "product \(id)",
                    "stock \(stock) != initial \(initial) + restocked \(restocked) - sold \(sold) + returned \(returned)"
                )
            }
            // Each product's lines of live orders and of paid ones, from one join of the lines with
            // their orders (the largest tables: one pass, not one per rule).
            for (id, netSold, inOrders, rolled, paid) in try await session.all(
                """
                WITH lines AS (
                    SELECT l.product_id, SUM(l.quantity)::BIGINT AS live, SUM(l.quantity) FILTER (WHERE o.status = 'PAID')::BIGINT AS paid
                    FROM order_lines l JOIN orders o ON o.id = l.order_id
                    WHERE o.status IN ('PAID', 'PENDING_PAYMENT') GROUP BY l.product_id),
                rolled AS (SELECT product_id, SUM(quantity)::BIGINT AS quantity FROM product_daily_sales GROUP BY product_id)
                SELECT p.id, p.sold - p.returned, COALESCE(lines.live, 0)::BIGINT, COALESCE(rolled.quantity, 0)::BIGINT,
                       COALESCE(lines.paid, 0)::BIGINT
                FROM products p LEFT JOIN lines ON lines.product_id = p.id LEFT JOIN rolled ON rolled.product_id = p.id
                WHERE p.sold - p.returned != COALESCE(lines.live, 0) OR COALESCE(rolled.quantity, 0) != COALESCE(lines.paid, 0)
                ORDER BY p.id
                """,
                as: (Int64, Int64, Int64, Int64, Int64).self
            ) {
                if netSold != inOrders {
                    add(
                        "sold-equals-order-lines",
                        "product \(id)",
                        "sold - returned = \(netSold) but live orders hold \(inOrders)"
                    )
                }
                if rolled != paid {
                    add(
                        "rollups-match-orders",
                        "product \(id)",
                        "daily rollups say \(rolled) sold, paid orders \(paid)",
                        after: true
                    )
                }
            }
            endPass()
            for (end, id, keptUnits, keptOrders, units, orders) in try await session.all(
                """
                WITH sums AS (
                    SELECT d.day + k AS window_end, d.product_id, SUM(d.quantity)::BIGINT AS quantity, SUM(d.orders)::BIGINT AS orders
                    FROM product_daily_sales d CROSS JOIN generate_series(0, 2) AS k
                    WHERE d.day >= (SELECT kept_from FROM window_totals_kept WHERE id = 1) - 2
                      AND d.day + k >= (SELECT kept_from FROM window_totals_kept WHERE id = 1) GROUP BY 1, 2),
                kept AS (SELECT * FROM product_window_sales WHERE window_end >= (SELECT kept_from FROM window_totals_kept WHERE id = 1))
                SELECT COALESCE(w.window_end, s.window_end), COALESCE(w.product_id, s.product_id),
                       COALESCE(w.quantity, 0), COALESCE(w.orders, 0), COALESCE(s.quantity, 0), COALESCE(s.orders, 0)
                FROM kept w FULL JOIN sums s ON s.window_end = w.window_end AND s.product_id = w.product_id
                WHERE COALESCE(w.quantity, 0) != COALESCE(s.quantity, 0) OR COALESCE(w.orders, 0) != COALESCE(s.orders, 0)
                """,
                as: (Int64, Int64, Int64, Int64, Int64, Int64).self
            ) {
                add(
                    "window-totals-match-rollups",
                    "product \(id), window ending day \(end)",
                    "kept \(keptUnits) units in \(keptOrders) orders, the days' rollups \(units) in \(orders)"
                )
            }
            for (id, issued, quantity, rows, users) in try await session.all(
                """
                WITH counts AS (SELECT campaign_id, COUNT(*) AS rows, COUNT(DISTINCT user_id) AS users FROM coupons GROUP BY campaign_id)
                SELECT c.id, c.issued, c.total_quantity, COALESCE(counts.rows, 0)::BIGINT, COALESCE(counts.users, 0)::BIGINT
                FROM coupon_campaigns c LEFT JOIN counts ON counts.campaign_id = c.id
                WHERE c.issued > c.total_quantity OR COALESCE(counts.rows, 0) != c.issued OR COALESCE(counts.users, 0) != COALESCE(counts.rows, 0)
                """,
                as: (Int64, Int64, Int64, Int64, Int64).self
            ) {
                add(
                    "coupons-within-quantity",
                    "campaign \(id)",
                    "quantity \(quantity), issued \(issued), coupons \(rows), distinct users \(users)"
                )
            }
            // Paid orders against their payment, refunded ones against their refund: one pass over
            // the payments by order. Both sides come in order id order (their indexes), and a merge
            // join reads them so; the planner otherwise hashes every order, which spills to disk
            // past a few million (8.0 s against 4.1 s at 3 M orders).
            try await session.control("SET LOCAL enable_hashjoin = off")
            for (id, status, due, paid, refunded) in try await session.all(
                """
                WITH sums AS (
                    SELECT order_id, SUM(amount) FILTER (WHERE kind = 'PAYMENT')::BIGINT AS paid,
                           SUM(amount) FILTER (WHERE kind = 'REFUND')::BIGINT AS refunded
                    FROM payments GROUP BY order_id)
                SELECT o.id, o.status, o.total - o.discount, sums.paid, sums.refunded FROM orders o LEFT JOIN sums ON sums.order_id = o.id
                WHERE (o.status = 'PAID' AND sums.paid IS DISTINCT FROM o.total - o.discount)
                   OR (o.status = 'REFUNDED' AND sums.paid IS DISTINCT FROM sums.refunded)
                ORDER BY o.id
                """,
                as: (Int64, String, Int64, Int64?, Int64?).self
            ) {
                if status == OrderStatus.paid.rawValue {
                    add("paid-order-has-payment", "order \(id)", "due \(due), paid \(paid.map(String.init) ?? "nil")")
                } else {
                    add(
                        "refunded-order-refunds-payment",
                        "order \(id)",
                        "paid \(paid.map(String.init) ?? "nil"), refunded \(refunded.map(String.init) ?? "nil")",
                        after: true
                    )
                }
            }
            endPass()
            try await session.control("SET LOCAL enable_hashjoin = on")
            for (order, kind) in try await session.all(
                """
                SELECT p.order_id, p.kind FROM payments p
                WHERE p.created_at >= (SELECT pruned_before FROM outbox_relay WHERE id = 1)
                  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.order_id = p.order_id
                                  AND e.kind = CASE p.kind WHEN 'PAYMENT' THEN 'ORDER_PAID' ELSE 'ORDER_REFUNDED' END)
                """,
                as: (Int64, String).self
            ) {
                add("payment-has-outbox-event", "order \(order)", "\(kind) without its data-platform event")
            }
            for id in try await session.all(
                """
                SELECT c.id FROM coupons c WHERE c.status = 'USED'
                AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = c.order_id AND o.coupon_id = c.id)
                """,
                as: Int64.self
            ) {
                add("used-coupon-has-order", "coupon \(id)", "USED but no order points at it")
            }
            return violations
        }
    }
}
