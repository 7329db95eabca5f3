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
