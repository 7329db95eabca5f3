import CommerceDomain
import CommerceUseCases
import Testing

/// Both stores rank any window by the domain's threshold search (the kept three-day totals aside),
/// each over its own indexes: proven against the sum of every rollup row of the window.
@Suite("TopProducts over any window, in each store")
struct TopSellersStoreTests {
    @Test(
        "random rollups with ties and refunded rows: every window (1 to 30 days as TopProducts asks, and a long one) ranks as summing its rows does",
        arguments: StoreKind.available
    )
    func sameAsSum(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let products = 1_500
            try await tamper(
                store,
                "INSERT INTO products (id, name, price, stock, initial_stock, created_at) VALUES "
                    + (1...products).map { "(\($0), 'p\($0)', 100, 0, 0, 1)" }.joined(separator: ",")
            )
            var state: UInt64 = 7
            func next() -> UInt64 {  // an LCG: the same rollups every run
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 33
            }
            var sums: [Int64: [(product: Int64, quantity: Int64, orders: Int64)]] = [:]
            var values: [String] = []
            for day in Int64(100)...129 {
                for product in Int64(1)...Int64(products) where next() % 4 == 0 || product <= 20 {
                    // Skewed and tied: a few sell a lot; many sell the same few units; some were all refunded.
                    let quantity = product <= 8 ? Int64(200 + next() % 50) : Int64(next() % 6)
                    let orders = quantity == 0 ? 0 : 1 + Int64(next() % UInt64(quantity))
                    sums[day, default: []].append((product, quantity, orders))
                    values.append("(\(day), \(product), \(quantity), \(orders))")
                }
            }
            for day in Int64(200)...206 {
                // Each day 80 products of its own sell 100 (a spike on that day only); product 800
                // sells 60 every day (81st on each day, past the first batch): the search must read
                // on, round after round, to find it first.
                var rows = (Int64(1)...80).map {
                    (product: (day - 200) * 80 + $0, quantity: Int64(100), orders: Int64(1))
                }
                rows.append((800, 60, 60))
                rows += (Int64(561)...610).map { ($0, 1 + ($0 + day) % 7, 1) }
                sums[day] = rows
                values += rows.map { "(\(day), \($0.product), \($0.quantity), \($0.orders))" }
            }
            try await tamper(
                store,
                "INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES "
                    + values.joined(separator: ",")
            )
            for (from, to) in [
                (100, 100), (110, 112), (100, 106), (100, 129), (120, 135), (130, 140), (200, 206), (199, 203),
                (201, 203), (0, 250),
            ] {
                for rankBy in RankBy.allCases {
                    for limit in [1, 5, 50] {
                        var tally = SalesTally()
                        for day in Int64(from)...Int64(to) {
                            for row in sums[day] ?? [] {
                                tally.add(ProductID(row.product), quantity: row.quantity, orders: row.orders)
                            }
                        }
                        let expected = tally.top(limit, by: rankBy).map {
                            "\($0.productID.rawValue):p\($0.productID.rawValue):\($0.quantity):\($0.orders)"
                        }
                        let ranked = try await store.topSellers(
                            in: SalesDay(rawValue: Int64(from))...SalesDay(rawValue: Int64(to)),
                            limit: limit,
                            by: rankBy
                        ).map { "\($0.productID.rawValue):\($0.name):\($0.quantitySold):\($0.orderCount)" }
                        #expect(ranked == expected, "\(kind): days \(from)...\(to), \(rankBy), top \(limit)")
                    }
                }
            }
            let steady = try await store.topSellers(
                in: SalesDay(rawValue: 200)...SalesDay(rawValue: 206),
                limit: 5,
                by: .units
            )
            #expect(steady.map(\.productID.rawValue) == [800, 1, 2, 3, 4] && steady.first?.quantitySold == 420)
        }
    }
}
