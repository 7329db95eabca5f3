/// The best sellers of a window of days without reading every product's rollups: Fagin's threshold
/// algorithm over each day's rollups sorted best first. The rule lives here once; a store only
/// answers its two questions (a day's next rows best first, and a product's rollup on one day) with
/// whatever its indexes make cheap.
///
/// A round reads the next ``batch`` rows of each day still open (``openDays``), from ``offset``.
/// What the rows show of a product is kept; once the round is read, every product met is completed
/// exactly: from the rows alone where they cover every day of the window (a day whose list is read
/// to its end is covered), else with its rollup on each day missing (``incomplete``). A product not
/// yet met sells on each day at most what that day's list had come down to (nothing on a day read
/// to its end), so once the `limit`-th best exact total is above the sum of those bounds, no product
/// not yet met can rank: the answer is exact (``settle()``). A window whose best sellers stand out
/// settles in a round or two however many products sold in it; a flat one reads further, at worst
/// all of it, as a plain scan does (10 M orders: `benchmarks/README.md`, session 19).
///
/// The store must read a day's rows in one fixed order within the search (ties broken the same way
/// every round, as by an index), so that successive batches neither skip nor repeat a row.
public struct TopSellersSearch: Sendable {
    /// One day's rollup of one product.
    public typealias Rollup = (productID: ProductID, quantity: Int64, orders: Int64)

    public let days: [SalesDay]
    public let limit: Int
    public let rankBy: RankBy
    /// How many rows of each open day this round reads.
    public private(set) var batch: Int
    /// How many rows of each open day earlier rounds read: every open day has had a full batch each round.
    public private(set) var offset = 0

    /// Whether each day (by its index in ``days``) is not yet read to its end.
    private var open: [Bool]
    /// What an open day's list had come down to at its last row read.
    private var bound: [Int64]
    private var exact: [ProductID: (quantity: Int64, orders: Int64)] = [:]
    /// Products met this round, with the days their rows showed.
    private var partial: [ProductID: (quantity: Int64, orders: Int64, seen: DaySet)] = [:]

    /// A search of the top `limit` of `span`; `limit` must be at least 1.
    public init(span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) {
        precondition(limit > 0, "a ranking of no products needs no search")
        self.days = (span.lowerBound.rawValue...span.upperBound.rawValue).map(SalesDay.init(rawValue:))
        self.limit = limit
        self.rankBy = rankBy
        self.batch = max(64, limit * 8)
        self.open = Array(repeating: true, count: self.days.count)
        self.bound = Array(repeating: .max, count: self.days.count)
    }

    /// The days whose lists are not yet read to their end: this round reads each of them.
    public var openDays: [SalesDay] {
        self.days.indices.filter { self.open[$0] }.map { self.days[$0] }
    }

    /// Records this round's rows of `day` (at most ``batch`` of them, the ones after the first
    /// ``offset`` in the day's order, in any order). Fewer than a batch closes the day.
    public mutating func record(_ rows: [Rollup], of day: SalesDay) {
        let index = Int(day.rawValue - self.days[0].rawValue)
        precondition(self.days.indices.contains(index) && self.open[index], "\(day) is not open in this search")
        var lowest = Int64.max
        for row in rows {
            lowest = min(lowest, self.rankBy == .units ? row.quantity : row.orders)
            guard self.exact[row.productID] == nil else { continue }
            if let entry = self.partial.index(forKey: row.productID) {
                self.partial.values[entry].quantity += row.quantity
                self.partial.values[entry].orders += row.orders
                self.partial.values[entry].seen.insert(index)
            } else {
                self.partial[row.productID] = (row.quantity, row.orders, DaySet(index))
            }
        }
        if rows.count < self.batch {
            self.open[index] = false
            self.bound[index] = 0
        } else {
            self.bound[index] = lowest
        }
    }

    /// Once every open day's rows of the round are recorded: the products met whose totals still
    /// lack their rollups on some open days, with those days. Complete each with ``complete(_:with:)``.
    public var incomplete: [(productID: ProductID, days: [SalesDay])] {
        self.partial.compactMap { product, entry in
            let missing = self.days.indices.filter { self.open[$0] && !entry.seen.contains($0) }
            return missing.isEmpty ? nil : (product, missing.map { self.days[$0] })
        }
    }

    /// Completes an ``incomplete`` product with its rollups: those on the days it lacks are added,
    /// any other (a day already counted, a day outside the search) is ignored, so a store may read
    /// just the days missing or every day of the window.
    public mutating func complete(
        _ product: ProductID,
        with rollups: [(day: SalesDay, quantity: Int64, orders: Int64)]
    ) {
        guard let entry = self.partial.index(forKey: product) else {
            preconditionFailure("\(product) was not met this round")
        }
        let first = self.days[0].rawValue
        for rollup in rollups {
            guard let index = Int(exactly: rollup.day.rawValue - first), self.days.indices.contains(index),
                self.open[index], !self.partial.values[entry].seen.contains(index)
            else { continue }
            self.partial.values[entry].quantity += rollup.quantity
            self.partial.values[entry].orders += rollup.orders
        }
    }

    /// Ends the round: the ranking if it is settled, else `nil`, and the next round reads twice as many rows.
    public mutating func settle() -> [SalesTally.Total]? {
        for (product, seen) in self.partial { self.exact[product] = (seen.quantity, seen.orders) }
        self.partial.removeAll(keepingCapacity: true)
        var tally = SalesTally()
        for (product, total) in self.exact { tally.add(product, quantity: total.quantity, orders: total.orders) }
        let best = tally.top(self.limit, by: self.rankBy)
        if !self.open.contains(true) { return best }
        let threshold = self.days.indices.reduce(Int64(0)) {
            $0 + (self.open[$1] ? self.bound[$1] : 0)
        }
        if best.count == self.limit, let last = best.last,
            (self.rankBy == .units ? last.quantity : last.orders) > threshold
        {
            return best
        }
        self.offset += self.batch
        self.batch *= 2
        return nil
    }
}

/// Days of a search by their index: a word for the first 64 (every window TopProducts takes), more
/// only for a longer span.
struct DaySet: Sendable {
    private var first: UInt64 = 0
    private var rest: [UInt64] = []

    init(_ index: Int) { self.insert(index) }

    mutating func insert(_ index: Int) {
        if index < 64 {
            self.first |= 1 << UInt64(index)
            return
        }
        let word = index / 64 - 1
        if self.rest.count <= word { self.rest += repeatElement(0, count: word + 1 - self.rest.count) }
        self.rest[word] |= 1 << UInt64(index % 64)
    }

    func contains(_ index: Int) -> Bool {
        if index < 64 { return self.first & (1 << UInt64(index)) != 0 }
        let word = index / 64 - 1
        return word < self.rest.count && self.rest[word] & (1 << UInt64(index % 64)) != 0
    }
}
