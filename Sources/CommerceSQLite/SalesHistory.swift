import CommerceDomain
import CommerceUseCases
import GRDB

/// A synthetic sales history for benchmarks (`commerce-server seed --history-lines N`): products,
/// charged buyers, and paid orders spread evenly over the last few days of the shop's calendar.
///
/// Every order goes through the same code as PlaceOrder (guarded stock, payment, balance entry,
/// ranking rollup, outbox event), only many to a transaction, so the database it leaves passes the
/// audit. Its events count as already delivered: the history happened before this server existed.
public enum SalesHistory {
    public struct Plan: Sendable {
        /// Order lines to create (4 per order).
        public var lines: Int
        /// Days, up to and including today, the orders are spread over.
        public var days: Int
        public var products = 50
        public var buyers = 1_000

        public init(lines: Int, days: Int) {
            self.lines = lines
            self.days = days
        }
    }

    static let linesPerOrder = 4
    static let ordersPerTransaction = 2_000

    /// - Returns: the order lines created.
    @discardableResult
    public static func seed(
        into store: SQLiteStore,
        plan: Plan,
        now: UnixMillis = systemClock(),
        progress: (Int) -> Void = { _ in }
    ) throws -> Int {
        precondition(plan.days > 0 && plan.products >= Self.linesPerOrder && plan.buyers > 0)
        let orders = (plan.lines + Self.linesPerOrder - 1) / Self.linesPerOrder
        let products = try (0..<plan.products).map { index in
            try store.createProduct(
                name: "history product \(index)",
                price: Won(100 + index * 4),
                stock: Int64(orders),
                at: now
            ).wait().id
        }
        let buyers = try (0..<plan.buyers).map { index in
            let user = try store.createUser(name: "history buyer \(index)", at: now).wait()
            _ = try store.charge(
                ChargeCommand(
                    userID: user.id,
                    amount: BalancePolicy.standard.maximumBalance,
                    idempotencyKey: "history-seed",
                    policy: .standard,
                    at: now
                )
            ).wait()
            return user.id
        }
        // Orders fall evenly from the start of the first day of the window (the shop's calendar) to now.
        let calendar = store.configuration.calendar
        let windowStart = calendar.start(of: calendar.day(containing: now).adding(days: 1 - plan.days))
        let step = max(1, (now - windowStart) / Int64(max(orders, 1)))
        var generator = SplitMix64(seed: 42)
        var created = 0
        while created < orders {
            let batch = min(Self.ordersPerTransaction, orders - created)
            try store.pool.write { db in
                for index in created..<(created + batch) {
                    // Skewed choice, so the ranking has a clear top: a low product index is likelier.
                    var chosen = Set<Int>()
                    while chosen.count < Self.linesPerOrder {
                        let a = Int(generator.next() % UInt64(plan.products))
                        let b = Int(generator.next() % UInt64(plan.products))
                        chosen.insert(min(a, b))
                    }
                    let items = chosen.sorted().map {
                        (productID: products[$0], quantity: Int64(1 + generator.next() % 3))
                    }
                    let request = try OrderRequest.validate(
                        userID: buyers[index % buyers.count],
                        items: items,
                        couponID: nil
                    )
                    _ = try store.placeOrder(
                        db,
                        PlaceOrderCommand(
                            request: request,
                            idempotencyKey: nil,
                            at: windowStart + Int64(index) * step
                        )
                    )
                }
                try db.execute(
                    sql: "UPDATE outbox_relay SET delivered_through = (SELECT COALESCE(MAX(id), 0) FROM outbox)"
                )
            }
            created += batch
            progress(created * Self.linesPerOrder)
        }
        return created * Self.linesPerOrder
    }
}

/// A small deterministic generator: the same history on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
