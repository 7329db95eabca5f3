import CommerceDomain
import CommerceUseCases
import GRDB
import Testing

@testable import CommerceSQLite

@Suite("TopProducts by the threshold algorithm")
struct TopSellersQueryTests {
    @Test(
        "on random rollups, many ties included, the threshold algorithm ranks exactly as summing every row does",
        arguments: [(products: 40, maxSold: 3), (products: 500, maxSold: 50), (products: 2_000, maxSold: 1_000)]
    )
    func sameAsFullScan(products: Int, maxSold: Int) async throws {
        let store = try temporaryStore()
        var generator = SplitMix64(seed: UInt64(products * 31 + maxSold))
        try store.unsafeExecuteForTesting(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(products))
            INSERT INTO products (id, name, price, stock, initial_stock, created_at) SELECT i, 'p' || i, 100, 0, 0, 1 FROM n
            """
        )
        var rows: [String] = []
        for day in 100...106 {
            for product in 1...products where generator.next() % 3 != 0 {
                // Skewed: low ids sell more, so some windows settle early and some read far.
                let quantity = Int64(generator.next() % UInt64(maxSold)) + (product < 10 ? Int64(maxSold) : 0)
                let orders = 1 + Int64(generator.next() % UInt64(max(1, quantity)))
                rows.append("(\(day), \(product), \(quantity), \(orders))")
            }
        }
        try store.unsafeExecuteForTesting(
            "INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES \(rows.joined(separator: ","))"
        )
        for (from, to) in [(100, 100), (100, 102), (104, 106), (100, 106), (107, 109)] {
            for rankBy in [RankBy.units, .orders] {
                for limit in [1, 5, 30] {
                    let span = SalesDay(rawValue: Int64(from))...SalesDay(rawValue: Int64(to))
                    let (fast, scanned) = try store.readNow { db in
                        var tally = SalesTally()
                        let all = try Row.fetchAll(
                            db,
                            sql:
                                "SELECT product_id, quantity, orders FROM product_daily_sales WHERE day BETWEEN ? AND ?",
                            arguments: [from, to]
                        )
                        for row in all {
                            tally.add(ProductID(row[0] as Int64), quantity: row[1], orders: row[2])
                        }
                        return (
                            try TopSellersQuery.top(db, in: span, limit: limit, by: rankBy),
                            tally.top(limit, by: rankBy)
                        )
                    }
                    #expect(
                        fast.map { "\($0.productID.rawValue):\($0.quantity):\($0.orders)" }
                            == scanned.map { "\($0.productID.rawValue):\($0.quantity):\($0.orders)" },
                        "days \(from)...\(to), \(rankBy), top \(limit)"
                    )
                }
            }
        }
    }

    @Test(
        "a product that is never near the top of any one day but sells steadily every day is found: the algorithm reads past the first batch until the ranking is settled"
    )
    func steadySeller() async throws {
        let store = try temporaryStore()
        try store.unsafeExecuteForTesting(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800)
            INSERT INTO products (id, name, price, stock, initial_stock, created_at) SELECT i, 'p' || i, 100, 0, 0, 1 FROM n
            """
        )
        var rows: [String] = []
        for day in 0..<7 {
            // Each day 80 products of its own sell 100 (a spike on that day only); product 800 sells
            // 60 every day (81st on each day, below the first batch; 420 in all); the rest sell a little.
            for spike in 1...80 { rows.append("(\(200 + day), \(day * 80 + spike), 100, 1)") }
            rows.append("(\(200 + day), 800, 60, 60)")
            for quiet in 561...610 { rows.append("(\(200 + day), \(quiet), \(1 + (quiet + day) % 7), 1)") }
        }
        try store.unsafeExecuteForTesting(
            "INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES \(rows.joined(separator: ","))"
        )
        let top = try store.readNow { db in
            try TopSellersQuery.top(db, in: SalesDay(rawValue: 200)...SalesDay(rawValue: 206), limit: 5, by: .units)
        }
        #expect(top.first?.productID == ProductID(800) && top.first?.quantity == 420)
        #expect(top.dropFirst().allSatisfy { $0.quantity == 100 }, "then spikes of 100, lowest ids first")
        #expect(top.map(\.productID.rawValue) == [800, 1, 2, 3, 4])
    }
}
