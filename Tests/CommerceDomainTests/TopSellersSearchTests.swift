import CommerceDomain
import Testing

@Suite("The threshold search for best sellers")
struct TopSellersSearchTests {
    /// Days of rollups, each sorted as a store's index reads it: best first, ties by product id.
    struct Rollups {
        var byDay: [SalesDay: [TopSellersSearch.Rollup]] = [:]
        /// Rows handed to the search, sorted lists and point lookups together.
        var rowsRead = 0

        /// `wholeWindow`: complete a product with its rollups on every day of the window (and one
        /// day either side), as a store reading a product's days by range would, not only the days it lacks.
        mutating func rank(
            _ span: ClosedRange<SalesDay>,
            limit: Int,
            by rankBy: RankBy,
            wholeWindow: Bool = false
        ) -> [SalesTally.Total] {
            let measure = { (row: TopSellersSearch.Rollup) in rankBy == .units ? row.quantity : row.orders }
            let sorted = self.byDay.mapValues {
                $0.sorted { measure($0) != measure($1) ? measure($0) > measure($1) : $0.productID < $1.productID }
            }
            let points = self.byDay.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.productID, $0) }) }
            var search = TopSellersSearch(span: span, limit: limit, by: rankBy)
            while true {
                for day in search.openDays {
                    let rows = Array((sorted[day] ?? []).dropFirst(search.offset).prefix(search.batch))
                    self.rowsRead += rows.count
                    search.record(rows, of: day)
                }
                for (product, missing) in search.incomplete {
                    let around = span.lowerBound.adding(days: -1)...span.upperBound.adding(days: 1)
                    let days =
                        wholeWindow
                        ? (around.lowerBound.rawValue...around.upperBound.rawValue).map(SalesDay.init(rawValue:))
                        : missing
                    let rollups = days.compactMap { day in points[day]?[product].map { (day, $0.quantity, $0.orders) } }
                    self.rowsRead += rollups.count
                    search.complete(product, with: rollups)
                }
                if let best = search.settle() { return best }
            }
        }

        func scan(_ span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) -> [SalesTally.Total] {
            var tally = SalesTally()
            for (day, rows) in self.byDay where span.contains(day) {
                for row in rows { tally.add(row.productID, quantity: row.quantity, orders: row.orders) }
            }
            return tally.top(limit, by: rankBy)
        }

        var count: Int { self.byDay.values.reduce(0) { $0 + $1.count } }
    }

    private static func day(_ raw: Int64) -> SalesDay { SalesDay(rawValue: raw) }

    private static func text(_ totals: [SalesTally.Total]) -> [String] {
        totals.map { "\($0.productID.rawValue):\($0.quantity):\($0.orders)" }
    }

    @Test(
        "on random rollups, many ties and refunded (zero) rows included, it ranks exactly as summing every row does",
        arguments: [(products: 40, maxSold: 3), (products: 500, maxSold: 50), (products: 3_000, maxSold: 1_000)]
    )
    func sameAsScan(products: Int, maxSold: Int) {
        var random = Seeded(UInt64(products * 31 + maxSold))
        var rollups = Rollups()
        for day in Int64(100)...106 {
            for product in 1...products where random.next() % 3 != 0 {
                // Skewed: low ids sell more, so some windows settle early and some read far.
                let quantity = Int64(random.next() % UInt64(maxSold)) + (product < 10 ? Int64(maxSold) : 0)
                let orders = quantity == 0 ? 0 : 1 + Int64(random.next() % UInt64(quantity))
                rollups.byDay[Self.day(day), default: []].append((ProductID(Int64(product)), quantity, orders))
            }
        }
        for (from, to) in [(100, 100), (100, 102), (104, 106), (100, 106), (99, 101), (107, 109), (0, 300), (60, 103)] {
            let span = Self.day(Int64(from))...Self.day(Int64(to))
            for rankBy in RankBy.allCases {
                for limit in [1, 5, 30, 50] {
                    let scanned = Self.text(rollups.scan(span, limit: limit, by: rankBy))
                    for wholeWindow in [false, true] {
                        #expect(
                            Self.text(rollups.rank(span, limit: limit, by: rankBy, wholeWindow: wholeWindow))
                                == scanned,
                            "days \(from)...\(to), \(rankBy), top \(limit), whole window \(wholeWindow)"
                        )
                    }
                }
            }
        }
    }

    @Test("where a few products stand out it settles after reading a small part of the window's rows")
    func readsLittle() {
        var rollups = Rollups()
        for day in Int64(0)..<30 {
            for product in Int64(1)...10_000 {
                let quantity = product <= 5 ? 1_000 - product : 1 + (product + day) % 3
                rollups.byDay[Self.day(day), default: []].append((ProductID(product), quantity, 1))
            }
        }
        let top = rollups.rank(Self.day(0)...Self.day(29), limit: 5, by: .units)
        #expect(top.map(\.productID.rawValue) == [1, 2, 3, 4, 5])
        #expect(top.map(\.quantity) == [29_970, 29_940, 29_910, 29_880, 29_850])
        #expect(rollups.rowsRead * 20 < rollups.count, "read \(rollups.rowsRead) of \(rollups.count) rows")
    }

    @Test(
        "a product never near the top of any one day but selling steadily every day is found: the search reads past its first batch"
    )
    func steadySeller() {
        var rollups = Rollups()
        for day in Int64(0)..<7 {
            // Each day 80 products of its own sell 100 (a spike on that day only); product 800 sells
            // 60 every day (81st on each day, below the first batch; 420 in all); the rest sell a little.
            for spike in Int64(1)...80 {
                rollups.byDay[Self.day(day), default: []].append((ProductID(day * 80 + spike), 100, 1))
            }
            rollups.byDay[Self.day(day), default: []].append((ProductID(800), 60, 60))
            for quiet in Int64(561)...610 {
                rollups.byDay[Self.day(day), default: []].append((ProductID(quiet), 1 + (quiet + day) % 7, 1))
            }
        }
        let top = rollups.rank(Self.day(0)...Self.day(6), limit: 5, by: .units)
        #expect(top.map(\.productID.rawValue) == [800, 1, 2, 3, 4])
        #expect(top.map(\.quantity) == [420, 100, 100, 100, 100])
    }

    @Test("rounds double their batch, and offsets follow what earlier rounds read")
    func rounds() throws {
        var search = TopSellersSearch(span: Self.day(1)...Self.day(2), limit: 5, by: .units)
        #expect(search.openDays == [Self.day(1), Self.day(2)] && search.batch == 64 && search.offset == 0)
        let flat = (1...64).map { (productID: ProductID(Int64($0)), quantity: Int64(10), orders: Int64(1)) }
        search.record(flat, of: Self.day(1))
        search.record(Array(flat.prefix(3)), of: Self.day(2))
        #expect(search.openDays == [Self.day(1)], "a day of fewer rows than a batch is read to its end")
        #expect(search.incomplete.isEmpty, "every product met was seen on each open day")
        #expect(search.settle() == nil, "the fifth best has 20 or 10, not above the open day's bound of 10")
        #expect(search.batch == 128 && search.offset == 64 && search.openDays == [Self.day(1)])
        search.record([], of: Self.day(1))
        let settled = search.settle()
        let best = try #require(settled)
        #expect(best.map(\.productID.rawValue) == [1, 2, 3, 4, 5] && best.first?.quantity == 20)
    }
}

/// SplitMix64: the same rollups on every run.
private struct Seeded: RandomNumberGenerator {
    var state: UInt64
    init(_ seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
