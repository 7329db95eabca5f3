import CommerceDomain
import GRDB

/// One broken invariant found by ``SQLiteStore/audit()``.
public struct AuditViolation: Hashable, Sendable, CustomStringConvertible {
    public var rule: String
    public var subject: String
    public var detail: String
    public var description: String { "\(self.rule) \(self.subject): \(self.detail)" }
}

extension SQLiteStore {
    /// Checks the whole database in one read snapshot:
    /// - every user's balance equals the sum of its history, and the newest entry's `balance_after`;
    /// - every product's stock equals initial + restocked − sold + returned, and is never negative.
    public func audit() throws -> [AuditViolation] {
        try self.readNow { db in
            var violations: [AuditViolation] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT u.id, u.balance,
                       COALESCE((SELECT SUM(amount) FROM balance_entries WHERE user_id = u.id), 0) AS history_sum,
                       (SELECT balance_after FROM balance_entries WHERE user_id = u.id ORDER BY id DESC LIMIT 1) AS last_after
                FROM users u
                """)
            {
                let id: Int64 = row["id"], balance: Int64 = row["balance"], sum: Int64 = row["history_sum"]
                if balance != sum {
                    violations.append(AuditViolation(rule: "balance-equals-history", subject: "user \(id)",
                                                     detail: "balance \(balance) but history sums to \(sum)"))
                }
                if let last: Int64 = row["last_after"], last != balance {
                    violations.append(AuditViolation(rule: "balance-equals-last-entry", subject: "user \(id)",
                                                     detail: "balance \(balance) but newest entry says \(last)"))
                }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT id, stock, initial_stock, restocked, sold, returned FROM products
                WHERE stock != initial_stock + restocked - sold + returned OR stock < 0
                """)
            {
                let id: Int64 = row["id"]
                violations.append(AuditViolation(
                    rule: "stock-conservation", subject: "product \(id)",
                    detail: "stock \(row["stock"] as Int64) != initial \(row["initial_stock"] as Int64) + restocked \(row["restocked"] as Int64) - sold \(row["sold"] as Int64) + returned \(row["returned"] as Int64)"))
            }
            return violations
        }
    }
}
