/// A calendar day of the shop's calendar (``ShopCalendar``), counted from 1970-01-01 there.
public struct SalesDay: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let millisPerDay: Int64 = 86_400_000
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// The day `millis` falls in once shifted by `offsetMillis` (the UTC offset in force then).
    public init(containing millis: UnixMillis, offsetMillis: Int64 = 0) {
        let local = millis + offsetMillis
        self.rawValue = local >= 0 ? local / Self.millisPerDay : (local - Self.millisPerDay + 1) / Self.millisPerDay
    }

    public func adding(days: Int) -> SalesDay { SalesDay(rawValue: self.rawValue + Int64(days)) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "day \(self.rawValue)" }
}

/// The shop's calendar: which day an instant belongs to and when a day begins, in the shop's time
/// zone (the server's `--time-zone`). Rankings count calendar days there, not UTC days.
///
/// The domain holds the rule; the offsets come from the time zone database, which the runtime reads
/// (``ShopCalendar/init(utcOffsetMillis:identifier:)`` takes them as a function of the instant).
public struct ShopCalendar: Sendable, CustomStringConvertible {
    /// An IANA name such as `Asia/Seoul`.
    public let identifier: String
    private let utcOffsetMillis: @Sendable (UnixMillis) -> Int64

    /// - Parameter utcOffsetMillis: the zone's offset from UTC in force at an instant.
    public init(identifier: String, utcOffsetMillis: @escaping @Sendable (UnixMillis) -> Int64) {
        self.identifier = identifier
        self.utcOffsetMillis = utcOffsetMillis
    }

    public static let utc = ShopCalendar(identifier: "UTC") { _ in 0 }

    public func day(containing instant: UnixMillis) -> SalesDay {
        SalesDay(containing: instant, offsetMillis: self.utcOffsetMillis(instant))
    }

    /// The first instant of `day`: its midnight, or when the day begins where a clock change skips midnight.
    public func start(of day: SalesDay) -> UnixMillis {
        // Guess with the offset at the day's UTC midnight, correct with the offset at the guess,
        // then step to the first millisecond that belongs to the day (at most one clock change away).
        let utcMidnight = day.rawValue * SalesDay.millisPerDay
        var guess = utcMidnight - self.utcOffsetMillis(utcMidnight)
        guess = utcMidnight - self.utcOffsetMillis(guess)
        if self.day(containing: guess) < day {
            // Midnight did not exist (the clock jumped over it): find the jump by halving.
            var (low, high) = (guess, guess + 3 * 3_600_000)
            while high - low > 1 {
                let middle = low + (high - low) / 2
                if self.day(containing: middle) < day { low = middle } else { high = middle }
            }
            return high
        }
        // a repeated midnight hour: the earlier one
        while self.day(containing: guess - 1) == day { guess -= 3_600_000 }
        return guess
    }

    public var description: String { self.identifier }
}

/// What ranks a product.
public enum RankBy: String, Hashable, Sendable, CaseIterable {
    /// Units sold; ties by more orders, then the lower product id.
    case units = "UNITS"
    /// Orders that contained the product, whatever their quantity; ties by more units, then the lower product id.
    case orders = "ORDERS"
}

/// Which days a ranking counts.
public enum RankingWindow: Hashable, Sendable {
    /// The last `days` days including today, as they stand now.
    case rolling
    /// The `days` whole days before today, as they stood at today's midnight (a snapshot).
    case completedDays
}

/// Which best sellers to rank: top `limit` over `days` days of the window, ranked by `rankBy`.
public struct RankingQuery: Hashable, Sendable {
    public static let defaultDays = 3, maximumDays = 30, defaultLimit = 5, maximumLimit = 50

    public var days: Int
    public var limit: Int
    public var rankBy: RankBy
    public var window: RankingWindow

    public static func validate(
        days: Int,
        limit: Int,
        rankBy: RankBy = .units,
        window: RankingWindow = .rolling
    )
        throws(CommerceError) -> RankingQuery
    {
        guard (1...maximumDays).contains(days), (1...maximumLimit).contains(limit) else {
            throw CommerceError(
                .invalidRankingWindow,
                "days must be 1 to \(maximumDays) and limit 1 to \(maximumLimit), got \(days) and \(limit)"
            )
        }
        return RankingQuery(days: days, limit: limit, rankBy: rankBy, window: window)
    }

    private init(days: Int, limit: Int, rankBy: RankBy, window: RankingWindow) {
        self.days = days
        self.limit = limit
        self.rankBy = rankBy
        self.window = window
    }

    /// The days counted when it is `today`.
    public func span(today: SalesDay) -> ClosedRange<SalesDay> {
        switch self.window {
        case .rolling: today.adding(days: 1 - self.days)...today
        case .completedDays: today.adding(days: -self.days)...today.adding(days: -1)
        }
    }
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
/// order over them (``RankBy``); a product with nothing sold (every sale refunded) is not ranked.
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
    public func top(_ limit: Int, by rankBy: RankBy = .units) -> [Total] {
        guard limit > 0 else { return [] }
        var best: [Total] = []
        best.reserveCapacity(limit + 1)
        for (product, total) in self.totals where total.quantity > 0 {
            let candidate: Total = (product, total.quantity, total.orders)
            if best.count == limit, let last = best.last, !Self.ranksBefore(candidate, last, by: rankBy) { continue }
            let position = best.firstIndex { !Self.ranksBefore($0, candidate, by: rankBy) } ?? best.endIndex
            best.insert(candidate, at: position)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    public static func ranksBefore(_ a: Total, _ b: Total, by rankBy: RankBy) -> Bool {
        let (first, second) =
            rankBy == .units
            ? ((a.quantity, b.quantity), (a.orders, b.orders)) : ((a.orders, b.orders), (a.quantity, b.quantity))
        if first.0 != first.1 { return first.0 > first.1 }
        if second.0 != second.1 { return second.0 > second.1 }
        return a.productID < b.productID
    }
}

/// The completed-days rankings as they stood at one midnight: for every window of 1 through
/// ``RankingQuery/maximumDays`` whole days before `today` and each ``RankBy``, the first
/// ``RankingQuery/maximumLimit`` products. Taken once per day, so a `COMPLETED_DAYS` answer stays the
/// same all day on every instance, refunds made since midnight included only tomorrow.
public struct RankingSnapshot: Sendable {
    public struct Entry: Hashable, Sendable {
        public var days: Int
        public var rankBy: RankBy
        /// 1-based.
        public var position: Int
        public var productID: ProductID
        public var quantity: Int64
        public var orders: Int64

        public init(days: Int, rankBy: RankBy, position: Int, productID: ProductID, quantity: Int64, orders: Int64) {
            self.days = days
            self.rankBy = rankBy
            self.position = position
            self.productID = productID
            self.quantity = quantity
            self.orders = orders
        }
    }

    /// The days a snapshot for `today` reads: the ``RankingQuery/maximumDays`` before it.
    public static func span(today: SalesDay) -> ClosedRange<SalesDay> {
        today.adding(days: -RankingQuery.maximumDays)...today.adding(days: -1)
    }

    /// The entries of the snapshot for `today` from the daily rollups of ``span(today:)``.
    public static func entries(
        today: SalesDay,
        rollups: [(day: SalesDay, productID: ProductID, quantity: Int64, orders: Int64)]
    ) -> [Entry] {
        let byDay = Dictionary(grouping: rollups, by: \.day)
        var tally = SalesTally()
        var entries: [Entry] = []
        for days in 1...RankingQuery.maximumDays {
            for rollup in byDay[today.adding(days: -days)] ?? [] {
                tally.add(rollup.productID, quantity: rollup.quantity, orders: rollup.orders)
            }
            for rankBy in RankBy.allCases {
                for (index, total) in tally.top(RankingQuery.maximumLimit, by: rankBy).enumerated() {
                    entries.append(
                        Entry(
                            days: days,
                            rankBy: rankBy,
                            position: index + 1,
                            productID: total.productID,
                            quantity: total.quantity,
                            orders: total.orders
                        )
                    )
                }
            }
        }
        return entries
    }
}
