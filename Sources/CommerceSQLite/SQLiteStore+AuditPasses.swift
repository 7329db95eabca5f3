import GRDB

/// The audit's whole-table passes: each table read once in storage order and summed in memory, so
/// the audit's time grows with the rows, not with rows times lookups (10 M orders: `benchmarks/README.md`).
extension SQLiteStore {
    /// What the lines and the rollups say of one product.
    struct ProductSums {
        /// Units in orders that hold stock (PAID, PENDING_PAYMENT).
        var live: Int64 = 0
        /// Units in PAID orders.
        var paid: Int64 = 0
        /// Units the daily rollups count.
        var rolled: Int64 = 0
    }

    /// Every user's history: the sum of its entries and the newest entry's `balance_after`.
    static func historyByUser(_ db: Database) throws -> [Int64: (sum: Int64, last: Int64?)] {
        let users = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0
        var history: [Int64: (sum: Int64, last: Int64?)] = Dictionary(minimumCapacity: users)
        let entries = try Row.fetchCursor(
            db,
            sql: "SELECT user_id, amount, balance_after FROM balance_entries ORDER BY id"
        )
        while let row = try entries.next() {
            let user: Int64 = row[0]
            let amount: Int64 = row[1]
            let after: Int64 = row[2]
            history[user, default: (0, nil)].sum &+= amount
            history[user]!.last = after  // in id order: the last one seen is the newest
        }
        return history
    }

    /// Every product's units in live orders, in paid orders, and in the daily rollups.
    static func salesByProduct(_ db: Database) throws -> [Int64: ProductSums] {
        let products = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM products") ?? 0
        var sums: [Int64: ProductSums] = Dictionary(minimumCapacity: products)
        let lines = try Row.fetchCursor(
            db,
            sql: """
                SELECT l.product_id, l.quantity,
                       CASE o.status WHEN 'PAID' THEN 2 WHEN 'PENDING_PAYMENT' THEN 1 ELSE 0 END
                FROM orders o JOIN order_lines l ON l.order_id = o.id
                """
        )
        while let row = try lines.next() {
            let state: Int64 = row[2]
            guard state > 0 else { continue }
            let product: Int64 = row[0]
            let quantity: Int64 = row[1]
            sums[product, default: ProductSums()].live &+= quantity
            if state == 2 { sums[product]!.paid &+= quantity }
        }
        let rollups = try Row.fetchCursor(db, sql: "SELECT product_id, quantity FROM product_daily_sales")
        while let row = try rollups.next() {
            let product: Int64 = row[0]
            let quantity: Int64 = row[1]
            sums[product, default: ProductSums()].rolled &+= quantity
        }
        return sums
    }
}

extension SQLiteStore {
    /// Where the kept window totals (``WindowTotals``: windows ending on or after `kept_from`) differ
    /// from the sums of the daily rollups they follow. One pass over the rollups of those windows in
    /// storage order (day, then product), holding only the last ``WindowTotals/days`` days; each
    /// window is read once it is complete. Rows of windows before `kept_from` await pruning: ignored.
    static func windowTotalMismatches(_ db: Database) throws -> [AuditViolation] {
        typealias Sums = (quantity: Int64, orders: Int64)
        let length = Int64(WindowTotals.days)
        let keptFrom = try WindowTotals.keptFrom(db).rawValue
        var violations: [AuditViolation] = []
        var recent: [Int64: [Int64: Sums]] = [:]
        let windowRows = try db.cachedStatement(
            sql: "SELECT product_id, quantity, orders FROM product_window_sales WHERE window_end = ?"
        )
        func mismatch(_ end: Int64, _ product: Int64, kept: Sums, rollups: Sums) -> AuditViolation {
            AuditViolation(
                rule: "window-totals-match-rollups",
                subject: "product \(product), window ending day \(end)",
                detail:
                    "kept \(kept.quantity) units in \(kept.orders) orders, the days' rollups \(rollups.quantity) in \(rollups.orders)"
            )
        }
        func check(_ end: Int64) throws {
            guard end >= keptFrom else { return }
            var expected: [Int64: Sums] = [:]
            for day in (end - length + 1)...end {
                for (product, sums) in recent[day] ?? [:] {
                    expected[product, default: (0, 0)].quantity += sums.quantity
                    expected[product, default: (0, 0)].orders += sums.orders
                }
            }
            let rows = try Row.fetchCursor(windowRows, arguments: [end])
            while let row = try rows.next() {
                let product: Int64 = row[0]
                let kept: Sums = (row[1], row[2])
                let sums = expected.removeValue(forKey: product) ?? (0, 0)
                if kept != sums { violations.append(mismatch(end, product, kept: kept, rollups: sums)) }
            }
            for (product, sums) in expected where sums != (0, 0) {
                violations.append(mismatch(end, product, kept: (0, 0), rollups: sums))
            }
        }
        var (first, current): (Int64?, Int64?) = (nil, nil)
        let rollups = try Row.fetchCursor(
            db,
            sql: "SELECT day, product_id, quantity, orders FROM product_daily_sales WHERE day > ?",
            arguments: [keptFrom - length]
        )
        while let row = try rollups.next() {
            let day: Int64 = row[0]
            if let previous = current, day != previous {
                // Every window ending before `day` has all its days read.
                for end in previous..<day { try check(end) }
                recent = recent.filter { $0.key > day - length }
            }
            if first == nil { first = day }
            current = day
            recent[day, default: [:]][row[1]] = (row[2], row[3])
        }
        if let first, let last = current {
            for end in last...(last + length - 1) { try check(end) }
            // Totals outside the rollups' days must be empty.
            let strays = try Row.fetchAll(
                db,
                sql: """
                    SELECT window_end, product_id, quantity, orders FROM product_window_sales
                    WHERE window_end >= ? AND (window_end < ? OR window_end > ?) AND (quantity != 0 OR orders != 0)
                    LIMIT 100
                    """,
                arguments: [keptFrom, first, last + length - 1]
            )
            for row in strays { violations.append(mismatch(row[0], row[1], kept: (row[2], row[3]), rollups: (0, 0))) }
        } else if let row = try Row.fetchOne(
            db,
            sql: """
                SELECT window_end, product_id, quantity, orders FROM product_window_sales
                WHERE window_end >= ? AND (quantity != 0 OR orders != 0)
                """,
            arguments: [keptFrom]
        ) {
            violations.append(mismatch(row[0], row[1], kept: (row[2], row[3]), rollups: (0, 0)))
        }
        return violations
    }
}
