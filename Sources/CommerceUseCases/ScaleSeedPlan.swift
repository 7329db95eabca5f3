import CommerceDomain

/// A database the size of a year of a busy shop, for `benchmarks/data-growth.sh`
/// (`commerce-server seed --scale`): users, products, and paid orders with their lines, payments,
/// balance history, delivered events and per-day rollups, spread over the last `days` days of the
/// shop's calendar. Each store fills it by bulk SQL of its own (`ScaleSeed` in CommerceSQLite,
/// `PostgresScaleSeed` in CommercePostgres), the same rows in both.
public struct ScaleSeedPlan: Sendable {
    public var users: Int
    public var products: Int
    public var orders: Int
    /// Days, up to and including today, the orders are spread over.
    public var days: Int
    /// Orders of the first user: the user whose lists `data-growth.sh` pages through.
    public var heavyUserOrders: Int
    /// Two-step orders left unpaid past their time, after the paid ones: the expiry sweep's work
    /// when a server opens the database (one line each, stock held, nothing charged).
    public var pending: Int
    /// The products the unpaid orders buy: the first this many (`nil`: all of them). Two
    /// databases compared on the sweep should sweep the same products, or each would dirty a
    /// different number of pages per commit.
    public var pendingProducts: Int?
    /// How long delivered events are kept, as a server's `--outbox-retention-hours` prunes them
    /// (its default: a week): older orders have no event left, and `pruned_before` says so.
    /// `nil` keeps every event.
    public var eventRetentionMillis: Int64? = 168 * 3_600_000

    public init(
        users: Int,
        products: Int,
        orders: Int,
        days: Int = 90,
        heavyUserOrders: Int = 1_000,
        pending: Int = 0
    ) {
        self.users = users
        self.products = products
        self.orders = orders
        self.days = days
        self.heavyUserOrders = heavyUserOrders
        self.pending = pending
    }

    /// `scale` times 1 M users, 100 k products and 10 M orders (1 is a year of a busy shop).
    public static func scaled(_ scale: Double) -> ScaleSeedPlan {
        ScaleSeedPlan(
            users: max(2, Int(1_000_000 * scale)),
            products: max(4, Int(100_000 * scale)),
            orders: max(1, Int(10_000_000 * scale))
        )
    }

    /// Each buyer's balance between orders.
    public static let balance: Won = 500_000
    /// Each product's initial stock: more than the orders take, so the benchmarks can go on buying.
    public static let stock: Int64 = 1_000_000

    /// What a seed wrote.
    public struct Seeded: Sendable {
        public var users: Int
        public var products: Int
        public var orders: Int
        public var lines: Int

        public init(users: Int, products: Int, orders: Int, lines: Int) {
            self.users = users
            self.products = products
            self.orders = orders
            self.lines = lines
        }
    }
}

/// `seed --scale` was pointed at a database that has data.
public struct NotEmpty: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "seed --scale fills an empty database; this one has users, products or orders" }
}
