import CommerceDomain
import CommercePostgres
import CommerceUseCases
import Foundation
import Testing

/// The kept three-day window totals (SQLite migration v13, PostgreSQL v3), proven on each store
/// against a model of the orders the test placed: what TopProducts answers for its default window.
@Suite("Three-day window totals, on SQLite and on PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct WindowTotalsTests {
    /// Orders placed and refunded through a store, and what they say: units and orders per day
    /// and product.
    struct Shop {
        let store: any ServedStore
        let calendar = ShopCalendar.seoul
        var products: [ProductID] = []
        var users: [UserID] = []
        var model: [SalesDay: [ProductID: (quantity: Int64, orders: Int64)]] = [:]
        var placed: [(order: OrderID, user: UserID, day: SalesDay, lines: [(ProductID, Int64)])] = []

        init(_ store: any ServedStore) async throws {
            self.store = store
            for index in 0..<8 {
                self.products.append(
                    try await store.createProduct(name: "p\(index)", price: 100, stock: 10_000, at: 1).value.id
                )
            }
            for index in 0..<4 {
                let user = try await store.createUser(name: "u\(index)", at: 1).value.id
                _ = try await store.charge(
                    ChargeCommand(userID: user, amount: 500_000, idempotencyKey: nil, policy: .standard, at: 1)
                ).value
                self.users.append(user)
            }
        }

        mutating func order(_ lines: [(ProductID, Int64)], by user: UserID, on day: SalesDay) async throws {
            let request = try OrderRequest.validate(userID: user, items: lines.map { ($0.0, $0.1) }, couponID: nil)
            let at = self.calendar.start(of: day) + 12 * 3_600_000
            let receipt = try await self.store.placeOrder(
                PlaceOrderCommand(request: request, idempotencyKey: nil, at: at)
            ).value
            for (product, quantity) in lines {
                self.model[day, default: [:]][product, default: (0, 0)].quantity += quantity
                self.model[day, default: [:]][product, default: (0, 0)].orders += 1
            }
            self.placed.append((receipt.order.id, user, day, lines))
        }

        /// Orders on the five days from `first`, small counts from a fixed pattern: many totals tie,
        /// in units, in orders, or both.
        mutating func fiveDays(from first: SalesDay) async throws {
            for offset in 0..<5 {
                for (index, product) in self.products.enumerated() {
                    for repeatIndex in 0..<((offset + index) % 3) {
                        var lines = [(product, Int64(1 + (offset * 3 + index + repeatIndex) % 3))]
                        if (index + repeatIndex) % 4 == 0 { lines.append((self.products[(index + 3) % 8], 1)) }
                        let user = self.users[(offset + index + repeatIndex) % self.users.count]
                        try await self.order(lines, by: user, on: first.adding(days: offset))
                    }
                }
            }
        }

        mutating func refund(_ index: Int, on day: SalesDay) async throws {
            let order = self.placed[index]
            let at = self.calendar.start(of: day) + 13 * 3_600_000
            _ = try await self.store.refundOrder(order.order, user: order.user, at: at).value
            for (product, quantity) in order.lines {
                self.model[order.day]![product]!.quantity -= quantity
                self.model[order.day]![product]!.orders -= 1
            }
        }

        /// Every three-day window ending on `ends` ranks as the model says, both ranks, several limits.
        func expectRankings(endingOn ends: [SalesDay], sourceLocation: SourceLocation = #_sourceLocation) async throws {
            for end in ends {
                let span = end.adding(days: -2)...end
                var tally = SalesTally()
                for offset in 0..<3 {
                    for (product, sums) in self.model[span.lowerBound.adding(days: offset)] ?? [:] {
                        tally.add(product, quantity: sums.quantity, orders: sums.orders)
                    }
                }
                for rankBy in RankBy.allCases {
                    for limit in [1, 3, 8] {
                        let ranked = try await self.store.topSellers(in: span, limit: limit, by: rankBy)
                        #expect(
                            ranked.map { "\($0.productID.rawValue):\($0.quantitySold):\($0.orderCount)" }
                                == tally.top(limit, by: rankBy).map {
                                    "\($0.productID.rawValue):\($0.quantity):\($0.orders)"
                                },
                            "window ending \(end), \(rankBy), top \(limit)",
                            sourceLocation: sourceLocation
                        )
                    }
                }
            }
        }

        /// The rows the kept totals hold for windows ending before `day`: one per product and
        /// window that any order (refunded or not) of its days touched.
        func windowRows(before day: SalesDay) -> Int {
            var rows = Set<String>()
            for (sold, products) in self.model {
                for product in products.keys {
                    for offset in 0..<3 where sold.adding(days: offset) < day {
                        rows.insert("\(sold.adding(days: offset).rawValue):\(product.rawValue)")
                    }
                }
            }
            return rows.count
        }
    }

    @Test(
        "orders on five days and refunds of older ones: every three-day window ranks as the orders say, ties included, and the audit is clean",
        arguments: StoreKind.available
    )
    func windowsFollowOrdersAndRefunds(kind: StoreKind) async throws {
        try await withStore(kind, calendar: .seoul) { store in
            var shop = try await Shop(store)
            let first = SalesDay(rawValue: 20_000)
            try await shop.fiveDays(from: first)
            // Refunds on the last day of orders paid on earlier days leave the windows of their day.
            for index in shop.placed.indices where index % 5 == 1 {
                try await shop.refund(index, on: first.adding(days: 4))
            }
            try await shop.expectRankings(endingOn: (0..<7).map { first.adding(days: $0) })
            #expect(try await store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "windows before a week back are pruned a batch at a time and then ranked from the rollups; no order or refund of their days writes them again; the audit stays clean",
        arguments: StoreKind.available
    )
    func pruning(kind: StoreKind) async throws {
        try await withStore(kind, calendar: .seoul) { store in
            var shop = try await Shop(store)
            let first = SalesDay(rawValue: 20_000)
            try await shop.fiveDays(from: first)
            let keptFrom = first.adding(days: 3)
            let expected = shop.windowRows(before: keptFrom)
            var deleted: [Int] = []
            while case let batch = try await store.pruneWindowTotals(keptFrom: keptFrom, limit: 4).value, batch > 0 {
                deleted.append(batch)
            }
            #expect(deleted.reduce(0, +) == expected && deleted.dropLast().allSatisfy { $0 == 4 }, "\(deleted)")
            try await shop.expectRankings(endingOn: (0..<7).map { first.adding(days: $0) })
            #expect(try await store.checkInvariants().isEmpty)

            // A refund of a day whose windows are all pruned, one of a day with a kept window, and new
            // sales on old days (a product's first of the day: the rollup row is inserted).
            try await shop.refund(0, on: first.adding(days: 5))
            let laterDay = try #require(shop.placed.firstIndex { $0.day == first.adding(days: 1) })
            try await shop.refund(laterDay, on: first.adding(days: 5))
            let unsold = try #require(shop.products.first { shop.model[first.adding(days: 1)]?[$0] == nil })
            try await shop.order([(unsold, 2)], by: shop.users[0], on: first.adding(days: 1))
            try await shop.order([(unsold, 1)], by: shop.users[1], on: first)
            #expect(try await store.pruneWindowTotals(keptFrom: keptFrom, limit: 4).value == 0, "nothing written below")
            try await shop.expectRankings(endingOn: (0..<7).map { first.adding(days: $0) })
            #expect(try await store.checkInvariants().isEmpty)
        }
    }

    @Test("the audit notices a window total changed, or missing, outside the rules", arguments: StoreKind.available)
    func auditNotices(kind: StoreKind) async throws {
        try await withStore(kind, calendar: .utc) { store in
            let product = try await store.createProduct(name: "p", price: 100, stock: 100, at: 1).value.id
            let user = try await store.createUser(name: "u", at: 1).value.id
            _ = try await store.charge(
                ChargeCommand(userID: user, amount: 10_000, idempotencyKey: nil, policy: .standard, at: 1)
            ).value
            let request = try OrderRequest.validate(userID: user, items: [(product, 2)], couponID: nil)
            _ = try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 5)).value
            #expect(try await store.checkInvariants().isEmpty)
            try await tamper(
                store,
                "UPDATE product_window_sales SET quantity = quantity + 1 WHERE window_end = 1 AND product_id = \(product.rawValue)"
            )
            #expect(
                try await store.checkInvariants().map(\.subject) == ["product \(product.rawValue), window ending day 1"]
            )
            try await tamper(
                store,
                "UPDATE product_window_sales SET quantity = quantity - 1 WHERE window_end = 1 AND product_id = \(product.rawValue)"
            )
            try await tamper(store, "DELETE FROM product_window_sales WHERE window_end = 2")
            #expect(
                try await store.checkInvariants().map(\.detail) == [
                    "kept 0 units in 0 orders, the days' rollups 2 in 1"
                ]
            )
        }
    }

    /// PostgreSQL's trigger (migration v5) finds a changed rollup's three windows by their key: the
    /// blocks it reads do not grow with the number of products sold on those days. Counted by the
    /// server (the transaction's block fetches of the windows' key), not timed. v3's trigger read
    /// every product's windows of the three days: about 170 blocks here, more as products grow.
    @Test("a rollup's update or delete reads its own three windows, whatever the day's other products")
    func triggerReadsByKey() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        try await withStore(.postgres) { store in
            let url = (store as! PostgresStore).configuration.url
            let day = 20_000
            _ = try await psql(
                url,
                """
                INSERT INTO products (name, price, stock, initial_stock, created_at)
                SELECT 'p' || g, 100, 1000, 1000, 1 FROM generate_series(1, 20000) AS g;
                INSERT INTO product_daily_sales (day, product_id, quantity, orders)
                SELECT \(day), id, 1 + id % 7, 1 FROM products;
                """
            )
            let product = 12_345
            for change in [
                "UPDATE product_daily_sales SET quantity = quantity + 4, orders = orders + 1 WHERE day = \(day) AND product_id = \(product)",
                "DELETE FROM product_daily_sales WHERE day = \(day) AND product_id = \(product)",
            ] {
                let fetched = try await psql(
                    url,
                    """
                    BEGIN;
                    \(change);
                    SELECT pg_stat_get_xact_blocks_fetched('product_window_sales_pkey'::regclass);
                    COMMIT;
                    """
                )
                // Three descents of a three-level key, with room for the tuples' pages.
                #expect(Int(fetched) ?? .max <= 20, "\(change): \(fetched) blocks of the windows' key")
            }
            let windows = try await psql(
                url,
                "SELECT string_agg(quantity || '/' || orders, ' ' ORDER BY window_end) FROM product_window_sales WHERE product_id = \(product)"
            )
            #expect(windows == "0/0 0/0 0/0")
            let neighbour = try await psql(
                url,
                "SELECT string_agg(quantity || '/' || orders, ' ' ORDER BY window_end) FROM product_window_sales WHERE product_id = \(product + 1)"
            )
            #expect(neighbour == "\(1 + (product + 1) % 7)/1 \(1 + (product + 1) % 7)/1 \(1 + (product + 1) % 7)/1")
        }
    }

    /// Runs SQL through psql on `url`, quietly; the last statement's rows, unaligned, trimmed.
    private func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try await run(
            "/usr/bin/psql",
            [url, "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
            withErrors: true
        )
        guard result.status == 0 else { throw TestSetupError(message: "psql failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
