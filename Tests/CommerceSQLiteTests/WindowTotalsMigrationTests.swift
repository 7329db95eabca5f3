import CommerceDomain
import GRDB
import Testing

@testable import CommerceSQLite

@Suite("Three-day window totals on SQLite: migration and triggers")
struct WindowTotalsMigrationTests {
    @Test(
        "a database from before migration v13 gets the totals of the rollups it holds; later rollup changes of any kind keep them exact"
    )
    func backfillAndTriggers() async throws {
        let (path, queue) = try databaseMigrated(upTo: "v12: each day's rollups by units and by orders, best first")
        try await queue.write { db in
            var generator = SplitMix64(seed: 13)
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                    INSERT INTO products (id, name, price, stock, initial_stock, created_at) SELECT i, 'p' || i, 100, 0, 0, 1 FROM n
                    """
            )
            for day in 100...106 {
                for product in 1...300 where generator.next() % 3 != 0 {
                    let quantity = Int64(generator.next() % 20) + (product < 10 ? 20 : 0)
                    let orders = min(quantity, 1 + Int64(generator.next() % 5))
                    try db.execute(
                        sql: "INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (?, ?, ?, ?)",
                        arguments: [day, product, quantity, orders]
                    )
                }
            }
        }
        try queue.close()
        let store = try SQLiteStore(StoreConfiguration(path: path))
        #expect(try store.appliedMigrations().last == "v13: the default window's totals, kept by the rollups' triggers")
        try self.expectWindowsMatchRollups(store, ends: 98...110)
        #expect(try store.audit().filter { $0.rule != "rollups-match-orders" } == [], "rollups without orders")

        // Rows added, changed and removed outside the order path (as seed and re-count do).
        try store.unsafeExecuteForTesting(
            """
            INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (107, 5, 99, 9), (104, 299, 50, 2)
            ON CONFLICT (day, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + excluded.orders;
            UPDATE product_daily_sales SET quantity = quantity / 2, orders = MIN(orders, quantity / 2) WHERE day = 103;
            DELETE FROM product_daily_sales WHERE day = 105 AND product_id % 2 = 0;
            """
        )
        try self.expectWindowsMatchRollups(store, ends: 98...110)
        #expect(try store.audit().filter { $0.rule != "rollups-match-orders" } == [], "rollups without orders")
        expectRefused("a rollup row keeps its day and product") {
            try store.unsafeExecuteForTesting("UPDATE product_daily_sales SET day = 300 WHERE day = 100")
        }
    }

    func expectWindowsMatchRollups(_ store: SQLiteStore, ends: ClosedRange<Int64>) throws {
        for end in ends {
            for rankBy in RankBy.allCases {
                for limit in [1, 5, 50] {
                    let (kept, summed) = try store.readNow { db in
                        var tally = SalesTally()
                        for row in try Row.fetchAll(
                            db,
                            sql:
                                "SELECT product_id, quantity, orders FROM product_daily_sales WHERE day BETWEEN ? AND ?",
                            arguments: [end - 2, end]
                        ) {
                            tally.add(ProductID(row[0] as Int64), quantity: row[1], orders: row[2])
                        }
                        return (
                            try WindowTotals.top(db, endingOn: SalesDay(rawValue: end), limit: limit, by: rankBy),
                            tally.top(limit, by: rankBy)
                        )
                    }
                    #expect(
                        kept.map { "\($0.productID.rawValue):\($0.quantity):\($0.orders)" }
                            == summed.map { "\($0.productID.rawValue):\($0.quantity):\($0.orders)" },
                        "window ending \(end), \(rankBy), top \(limit)"
                    )
                }
            }
        }
    }
}
