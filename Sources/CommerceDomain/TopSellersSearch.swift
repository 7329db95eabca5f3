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

    /// The most days a search spans (a bit each, for the days a product was seen on).
    public static let maximumDays = 64

    public let days: [SalesDay]
    public let limit: Int
    public let rankBy: RankBy
    /// How many rows of each open day this round reads.
    public private(set) var batch: Int
    /// How many rows of each open day earlier rounds read: every open day has had a full batch each round.
    public private(set) var offset = 0

    /// A bit per day (by its index in ``days``) whose list is not yet read to its end.
    private var open: UInt64
    /// What an open day's list had come down to at its last row read.
    private var bound: [Int64]
    private var exact: [ProductID: (quantity: Int64, orders: Int64)] = [:]
    /// Products met this round, with a bit for each day their rows showed.
    private var partial: [ProductID: (quantity: Int64, orders: Int64, seen: UInt64)] = [:]

    /// A search of the top `limit` of `span` (at most ``maximumDays``); `limit` must be at least 1.
    public init(span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) {
        precondition(limit > 0, "a ranking of no products needs no search")
        self.days = (span.lowerBound.rawValue...span.upperBound.rawValue).map(SalesDay.init(rawValue:))
        precondition(self.days.count <= Self.maximumDays, "a search spans at most \(Self.maximumDays) days")
        self.limit = limit
        self.rankBy = rankBy
        self.batch = max(64, limit * 8)
        self.open = self.days.count == 64 ? .max : (1 << UInt64(self.days.count)) - 1
        self.bound = Array(repeating: .max, count: self.days.count)
    }

    /// The days whose lists are not yet read to their end: this round reads each of them.
    public var openDays: [SalesDay] {
        self.days.indices.filter { self.open & (1 << UInt64($0)) != 0 }.map { self.days[$0] }
    }

    /// Records this round's rows of `day` (at most ``batch`` of them, the ones after the first
    /// ``offset`` in the day's order, in any order). Fewer than a batch closes the day.
    public mutating func record(_ rows: [Rollup], of day: SalesDay) {
        let index = Int(day.rawValue - self.days[0].rawValue)
        let bit = UInt64(1) << UInt64(index)
        precondition(self.days.indices.contains(index) && self.open & bit != 0, "\(day) is not open in this search")
        var lowest = Int64.max
        for row in rows {
            lowest = min(lowest, self.rankBy == .units ? row.quantity : row.orders)
            guard self.exact[row.productID] == nil else { continue }
            if let entry = self.partial.index(forKey: row.productID) {
                self.partial.values[entry].quantity += row.quantity
                self.partial.values[entry].orders += row.orders
                self.partial.values[entry].seen |= bit
            } else {
                self.partial[row.productID] = (row.quantity, row.orders, bit)
            }
        }
        if rows.count < self.batch {
            self.open &= ~bit
            self.bound[index] = 0
        } else {
            self.bound[index] = lowest
        }
    }

    /// Once every open day's rows of the round are recorded: the products met whose totals still
    /// lack their rollups on some open days, with those days. Complete each with ``complete(_:with:)``.
    public var incomplete: [(productID: ProductID, days: [SalesDay])] {
        self.partial.compactMap { product, entry in
            let missing = self.open & ~entry.seen
            guard missing != 0 else { return nil }
            return (product, self.days.indices.filter { missing & (1 << UInt64($0)) != 0 }.map { self.days[$0] })
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
        let missing = self.open & ~self.partial.values[entry].seen
        let first = self.days[0].rawValue
        for rollup in rollups {
            let index = rollup.day.rawValue - first
            guard (0..<Int64(self.days.count)).contains(index), missing & (1 << UInt64(index)) != 0 else { continue }
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
        if self.open == 0 { return best }
        let threshold = self.days.indices.reduce(Int64(0)) {
            $0 + (self.open & (1 << UInt64($1)) != 0 ? self.bound[$1] : 0)
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
