/// A UTC calendar day, counted from 1970-01-01.
public struct SalesDay: RawRepresentable, Hashable, Comparable, Sendable {
    public static let millisPerDay: Int64 = 86_400_000
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// The UTC day `millis` falls in.
    public init(containing millis: UnixMillis) {
        self.rawValue = millis >= 0 ? millis / Self.millisPerDay : (millis - Self.millisPerDay + 1) / Self.millisPerDay
    }

    public var start: UnixMillis { self.rawValue * Self.millisPerDay }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Which best sellers to rank: the last `days` UTC days up to and including today, top `limit`.
public struct RankingQuery: Hashable, Sendable {
    public static let defaultDays = 3, maximumDays = 30, defaultLimit = 5, maximumLimit = 50

    public var days: Int
    public var limit: Int

    public static func validate(days: Int32, limit: Int32) throws(CommerceError) -> RankingQuery {
        guard days >= 0, days <= Int32(maximumDays), limit >= 0, limit <= Int32(maximumLimit) else {
            throw CommerceError(.invalidArgument, .invalidRankingWindow,
                                "days must be 0 to \(maximumDays) and limit 0 to \(maximumLimit) (0 = default), got \(days) and \(limit)")
        }
        return RankingQuery(days: days == 0 ? defaultDays : Int(days), limit: limit == 0 ? defaultLimit : Int(limit))
    }

    /// The first day of the window ending today.
    public func firstDay(today: SalesDay) -> SalesDay { SalesDay(rawValue: today.rawValue - Int64(self.days) + 1) }
}

public struct TopSeller: Hashable, Sendable {
    public var productID: ProductID
    public var name: String
    public var quantitySold: Int64
    public var orderCount: Int64

    public init(productID: ProductID, name: String, quantitySold: Int64, orderCount: Int64) {
        self.productID = productID
        self.name = name
        self.quantitySold = quantitySold
        self.orderCount = orderCount
    }
}

public struct Ranking: Hashable, Sendable {
    public var sellers: [TopSeller]
    public var windowStart: UnixMillis
    public var windowEnd: UnixMillis

    public init(sellers: [TopSeller], windowStart: UnixMillis, windowEnd: UnixMillis) {
        self.sellers = sellers
        self.windowStart = windowStart
        self.windowEnd = windowEnd
    }
}

/// Units sold and orders per product, summed over a window's daily rollups, and the ranking's
/// order over them: most units first, then the lower product id; a product with nothing sold (every
/// sale refunded) is not ranked.
public struct SalesTally: Sendable {
    public typealias Total = (productID: ProductID, quantity: Int64, orders: Int64)

    private var totals: [ProductID: (quantity: Int64, orders: Int64)] = [:]

    public init() {}

    /// Adds one day's rollup of `product`.
    public mutating func add(_ product: ProductID, quantity: Int64, orders: Int64) {
        self.totals[product, default: (0, 0)].quantity += quantity
        self.totals[product, default: (0, 0)].orders += orders
    }

    /// The first `limit` products in ranking order. Keeps only `limit` candidates sorted while it
    /// walks the totals, so a window over many products costs no sort of them all.
    public func top(_ limit: Int) -> [Total] {
        guard limit > 0 else { return [] }
        var best: [Total] = []
        best.reserveCapacity(limit + 1)
        for (product, total) in self.totals where total.quantity > 0 {
            let candidate: Total = (product, total.quantity, total.orders)
            if best.count == limit, let last = best.last, !Self.ranksBefore(candidate, last) { continue }
            let position = best.firstIndex { !Self.ranksBefore($0, candidate) } ?? best.endIndex
            best.insert(candidate, at: position)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    static func ranksBefore(_ a: Total, _ b: Total) -> Bool {
        a.quantity != b.quantity ? a.quantity > b.quantity : a.productID < b.productID
    }
}
