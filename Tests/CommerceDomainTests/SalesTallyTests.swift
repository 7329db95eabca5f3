import CommerceDomain
import Testing

@Suite("Sales tally")
struct SalesTallyTests {
    @Test("days add up per product; the top is most units first, ties by the lower product id, nothing-sold left out")
    func ranking() {
        var tally = SalesTally()
        tally.add(ProductID(7), quantity: 3, orders: 2)
        tally.add(ProductID(2), quantity: 1, orders: 1)
        tally.add(ProductID(7), quantity: 2, orders: 1)  // another day of 7: 5 units in 3 orders
        tally.add(ProductID(4), quantity: 5, orders: 5)  // ties with 7, lower id first
        tally.add(ProductID(9), quantity: 0, orders: 0)  // every sale refunded
        tally.add(ProductID(1), quantity: 1, orders: 1)  // ties with 2, lower id first
        let top = tally.top(10)
        #expect(top.map(\.productID.rawValue) == [4, 7, 1, 2])
        #expect(top.map(\.quantity) == [5, 5, 1, 1] && top.map(\.orders) == [5, 3, 1, 1])
        #expect(tally.top(2).map(\.productID.rawValue) == [4, 7])
        #expect(tally.top(0).isEmpty && SalesTally().top(5).isEmpty)
    }

    @Test(
        "the top k of many products is the first k of all of them sorted, by units or by orders",
        arguments: [1, 5, 50]
    )
    func topOfMany(limit: Int) {
        var generator = SystemRandomNumberGenerator()
        var tally = SalesTally()
        var sums: [Int64: (units: Int64, orders: Int64)] = [:]
        for _ in 0..<5_000 {
            let product = Int64.random(in: 1...2_000, using: &generator)
            let quantity = Int64.random(in: 0...20, using: &generator)
            let orders = quantity == 0 ? 0 : Int64.random(in: 1...quantity, using: &generator)
            tally.add(ProductID(product), quantity: quantity, orders: orders)
            sums[product, default: (0, 0)].units += quantity
            sums[product, default: (0, 0)].orders += orders
        }
        for rankBy in RankBy.allCases {
            let key = { (sum: (units: Int64, orders: Int64)) in
                rankBy == .units ? [sum.units, sum.orders] : [sum.orders, sum.units]
            }
            let expected = sums.filter { $0.value.units > 0 }.sorted { a, b in
                key(a.value) != key(b.value)
                    ? key(a.value).lexicographicallyPrecedes(key(b.value), by: >) : a.key < b.key
            }.prefix(limit)
            let top = tally.top(limit, by: rankBy)
            #expect(top.map(\.productID.rawValue) == expected.map(\.key), "\(rankBy)")
            #expect(
                top.map(\.quantity) == expected.map(\.value.units) && top.map(\.orders) == expected.map(\.value.orders),
                "\(rankBy)"
            )
        }
    }
}

@Suite("Ranking windows and snapshots")
struct RankingWindowTests {
    @Test(
        "rolling windows end today; completed-day windows are the whole days before it; 0 or too many days are refused"
    )
    func spans() throws {
        let today = SalesDay(rawValue: 100)
        #expect(try RankingQuery.validate(days: 3, limit: 5).span(today: today) == SalesDay(rawValue: 98)...today)
        #expect(
            try RankingQuery.validate(days: 3, limit: 5, window: .completedDays).span(today: today) == SalesDay(
                rawValue: 97
            )...SalesDay(rawValue: 99)
        )
        #expect(throws: CommerceError.self) { try RankingQuery.validate(days: 0, limit: 5) }
        #expect(throws: CommerceError.self) { try RankingQuery.validate(days: 31, limit: 5) }
        #expect(throws: CommerceError.self) { try RankingQuery.validate(days: 3, limit: 51) }
    }

    @Test("a snapshot holds, for every window length and rank, the top 50 of the days before today only")
    func snapshotEntries() {
        let today = SalesDay(rawValue: 100)
        let rollups: [(day: SalesDay, productID: ProductID, quantity: Int64, orders: Int64)] = [
            (today, ProductID(9), 1_000, 1_000),  // today: not in any completed window
            (today.adding(days: -1), ProductID(1), 5, 1), (today.adding(days: -1), ProductID(2), 3, 3),
            (today.adding(days: -2), ProductID(2), 4, 1),
            (today.adding(days: -30), ProductID(3), 100, 100), (today.adding(days: -31), ProductID(4), 100, 100),
        ]
        let entries = RankingSnapshot.entries(today: today, rollups: rollups)
        func top(_ days: Int, _ rankBy: RankBy) -> [Int64] {
            entries.filter { $0.days == days && $0.rankBy == rankBy }.sorted { $0.position < $1.position }.map(
                \.productID.rawValue
            )
        }
        #expect(top(1, .units) == [1, 2] && top(1, .orders) == [2, 1])
        #expect(top(2, .units) == [2, 1], "7 units beat 5")
        #expect(top(29, .units) == [2, 1] && top(30, .units) == [3, 2, 1], "day -31 is in no window")
        #expect(
            Set(entries.map(\.days)) == Set(1...30)
                && !entries.contains { $0.productID == ProductID(9) || $0.productID == ProductID(4) }
        )
    }
}
