import CommerceDomain
import CommerceUseCases
import Dispatch
import GRDB

/// One broken invariant found by ``SQLiteStore/audit()``.
public struct AuditViolation: Hashable, Sendable, CustomStringConvertible {
    public var rule: String
    public var subject: String
    public var detail: String
    public var description: String { "\(self.rule) \(self.subject): \(self.detail)" }
}

extension SQLiteStore: AuditStore {
    public func checkInvariants() async throws -> [InvariantViolation] {
        // A whole-database scan: on a Dispatch queue of its own, never on a caller's thread.
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(
                    with: Result {
                        try self.audit().map {
                            InvariantViolation(rule: $0.rule, subject: $0.subject, detail: $0.detail)
                        }
                    }
                )
            }
        }
    }

    /// Checks the whole database in one read snapshot:
    /// - every user's balance equals the sum of its history, and the newest entry's `balance_after`;
    /// - every product's stock equals initial + restocked − sold + returned, and is never negative;
    /// - what products count as sold matches the lines of live orders; the daily rollups match the
    ///   lines of paid orders, and the kept window totals match the rollups;
    /// - no campaign issued beyond its quantity, its count matches its coupons, one coupon per user;
    /// - every paid order has a payment of total − discount; every used coupon belongs to its order.
    public func audit() throws -> [AuditViolation] {
        try self.readNow { db in
            var violations: [AuditViolation] = []
            // Balances: the history in one pass in id order, summed per user in memory (a user's
            // entries lie all over the table: looking them up user by user read it at random).
            let history = try Self.historyByUser(db)
            let users = try Row.fetchCursor(db, sql: "SELECT id, balance FROM users")
            while let row = try users.next() {
                let id: Int64 = row[0]
                let balance: Int64 = row[1]
                let (sum, last) = history[id] ?? (0, nil)
                if balance != sum {
                    violations.append(
                        AuditViolation(
                            rule: "balance-equals-history",
                            subject: "user \(id)",
                            detail: "balance \(balance) but history sums to \(sum)"
                        )
                    )
                }
                if let last, last != balance {
                    violations.append(
                        AuditViolation(
                            rule: "balance-equals-last-entry",
                            subject: "user \(id)",
                            detail: "balance \(balance) but newest entry says \(last)"
                        )
                    )
                }
            }
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, stock, initial_stock, restocked, sold, returned FROM products
                        WHERE stock != initial_stock + restocked - sold + returned OR stock < 0
                        """
                )
            ) {
                let id: Int64 = row["id"]
                violations.append(
                    AuditViolation(
                        rule: "stock-conservation",
                        subject: "product \(id)",
                        detail:
                            "stock \(row["stock"] as Int64) != initial \(row["initial_stock"] as Int64) + restocked \(row["restocked"] as Int64) - sold \(row["sold"] as Int64) + returned \(row["returned"] as Int64)"
                    )
                )
            }
            // Products: what the counters say was sold matches the order lines of orders that took
            // stock, and the ranking's per-day sums match the lines of paid orders. One pass over the
            // lines (with their order's status) and one over the rollups, summed per product in memory.
            let sums = try Self.salesByProduct(db)
            let products = try Row.fetchCursor(db, sql: "SELECT id, sold - returned FROM products")
            while let row = try products.next() {
                let id: Int64 = row[0]
                let netSold: Int64 = row[1]
                let product = sums[id] ?? ProductSums()
                if netSold != product.live {
                    violations.append(
                        AuditViolation(
                            rule: "sold-equals-order-lines",
                            subject: "product \(id)",
                            detail: "sold - returned = \(netSold) but live orders hold \(product.live)"
                        )
                    )
                }
                if product.rolled != product.paid {
                    violations.append(
                        AuditViolation(
                            rule: "rollups-match-orders",
                            subject: "product \(id)",
                            detail: "daily rollups say \(product.rolled) sold, paid orders \(product.paid)"
                        )
                    )
                }
            }
            // The kept window totals are the sums of the daily rollups they follow.
            violations += try Self.windowTotalMismatches(db)
            // Coupons: never beyond the quantity, the count matches the coupons, one per user.
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT c.id, c.issued, c.total_quantity, (SELECT COUNT(*) FROM coupons WHERE campaign_id = c.id) AS rows,
                               (SELECT COUNT(DISTINCT user_id) FROM coupons WHERE campaign_id = c.id) AS users
                        FROM coupon_campaigns c
                        """
                )
            ) {
                let id: Int64 = row["id"]
                let issued: Int64 = row["issued"]
                let quantity: Int64 = row["total_quantity"]
                let rows: Int64 = row["rows"]
                let users: Int64 = row["users"]
                if issued > quantity || rows != issued || users != rows {
                    violations.append(
                        AuditViolation(
                            rule: "coupons-within-quantity",
                            subject: "campaign \(id)",
                            detail: "quantity \(quantity), issued \(issued), coupons \(rows), distinct users \(users)"
                        )
                    )
                }
            }
            // Orders: every paid order has its payment, equal to total - discount; a used coupon points at its order.
            // The comparisons are in the SQL, so only the orders that break them come back: fetched
            // whole and filtered here, every paid order's row was in memory at once (38 MiB more
            // resident at 147,000 orders, session 31).
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        WITH paid AS (SELECT order_id, SUM(amount) AS amount FROM payments WHERE kind = 'PAYMENT' GROUP BY order_id)
                        SELECT o.id, o.total - o.discount AS due, paid.amount AS paid
                        FROM orders o LEFT JOIN paid ON paid.order_id = o.id
                        WHERE o.status = 'PAID' AND paid.amount IS NOT o.total - o.discount
                        """
                )
            ) {
                violations.append(
                    AuditViolation(
                        rule: "paid-order-has-payment",
                        subject: "order \(row["id"] as Int64)",
                        detail: "due \(row["due"] as Int64), paid \(String(describing: row["paid"] as Int64?))"
                    )
                )
            }
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        WITH sums AS (
                            SELECT order_id, SUM(CASE kind WHEN 'PAYMENT' THEN amount END) AS paid,
                                   SUM(CASE kind WHEN 'REFUND' THEN amount END) AS refunded
                            FROM payments GROUP BY order_id)
                        SELECT o.id, sums.paid, sums.refunded
                        FROM orders o LEFT JOIN sums ON sums.order_id = o.id
                        WHERE o.status = 'REFUNDED' AND sums.paid IS NOT sums.refunded
                        """
                )
            ) {
                violations.append(
                    AuditViolation(
                        rule: "refunded-order-refunds-payment",
                        subject: "order \(row["id"] as Int64)",
                        detail:
                            "paid \(String(describing: row["paid"] as Int64?)), refunded \(String(describing: row["refunded"] as Int64?))"
                    )
                )
            }
            // The data platform: every payment and every refund has its event in the outbox (since
            // `pruned_before`: older delivered events may have been pruned).
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT p.order_id, p.kind FROM payments p
                        WHERE p.created_at >= (SELECT pruned_before FROM outbox_relay WHERE id = 1)
                          AND (p.order_id, CASE p.kind WHEN 'PAYMENT' THEN 'ORDER_PAID' ELSE 'ORDER_REFUNDED' END)
                              NOT IN (SELECT order_id, kind FROM outbox)
                        """
                )
            ) {
                violations.append(
                    AuditViolation(
                        rule: "payment-has-outbox-event",
                        subject: "order \(row["order_id"] as Int64)",
                        detail: "\(row["kind"] as String) without its data-platform event"
                    )
                )
            }
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT c.id FROM coupons c WHERE c.status = 'USED'
                        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = c.order_id AND o.coupon_id = c.id)
                        """
                )
            ) {
                violations.append(
                    AuditViolation(
                        rule: "used-coupon-has-order",
                        subject: "coupon \(row["id"] as Int64)",
                        detail: "USED but no order points at it"
                    )
                )
            }
            return violations
        }
    }
}
