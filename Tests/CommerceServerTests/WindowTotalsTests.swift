import CommerceDomain
import CommerceUseCases
import Testing

/// The kept three-day window totals (SQLite migration v13, PostgreSQL v3), proven on each store
/// against a model of the orders the test placed: what TopProducts answers for its default window.
@Suite("Three-day window totals, on SQLite and on PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct WindowTotalsTests {
    @Test(
        "orders on five days and refunds of older ones: every three-day window ranks as the orders say, ties included, and the audit is clean",
        arguments: StoreKind.available
    )
    func windowsFollowOrdersAndRefunds(kind: StoreKind) async throws {
        try await withStore(kind, calendar: .seoul) { store in
            let calendar = ShopCalendar.seoul
            let first = SalesDay(rawValue: 20_000)
            var products: [ProductID] = []
            for index in 0..<8 {
                products.append(
                    try await store.createProduct(name: "p\(index)", price: 100, stock: 10_000, at: 1).value.id
                )
            }
            var users: [UserID] = []
            for index in 0..<4 {
                let user = try await store.createUser(name: "u\(index)", at: 1).value.id
                _ = try await store.charge(
                    ChargeCommand(userID: user, amount: 500_000, idempotencyKey: nil, policy: .standard, at: 1)
                ).value
                users.append(user)
            }
            // The model: units and orders per day and product, as the orders placed say.
            var model: [SalesDay: [ProductID: (quantity: Int64, orders: Int64)]] = [:]
            var placed: [(order: OrderID, user: UserID, day: SalesDay, lines: [(ProductID, Int64)])] = []
            for offset in 0..<5 {
                let day = first.adding(days: offset)
                let at = calendar.start(of: day) + 12 * 3_600_000
                for (index, product) in products.enumerated() {
                    // Small counts from a fixed pattern: many totals tie, in units, in orders, or both.
                    for repeatIndex in 0..<((offset + index) % 3) {
                        var lines = [(product, Int64(1 + (offset * 3 + index + repeatIndex) % 3))]
                        if (index + repeatIndex) % 4 == 0 { lines.append((products[(index + 3) % 8], 1)) }
                        let user = users[(offset + index + repeatIndex) % users.count]
                        let request = try OrderRequest.validate(
                            userID: user,
                            items: lines.map { ($0.0, $0.1) },
                            couponID: nil
                        )
                        let receipt = try await store.placeOrder(
                            PlaceOrderCommand(request: request, idempotencyKey: nil, at: at)
                        ).value
                        for (product, quantity) in lines {
                            model[day, default: [:]][product, default: (0, 0)].quantity += quantity
                            model[day, default: [:]][product, default: (0, 0)].orders += 1
                        }
                        placed.append((receipt.order.id, user, day, lines))
                    }
                }
            }
            // Refunds on the last day of orders paid on earlier days leave the windows of their day.
            let refundAt = calendar.start(of: first.adding(days: 4)) + 13 * 3_600_000
            for (index, order) in placed.enumerated() where index % 5 == 1 {
                _ = try await store.refundOrder(order.order, user: order.user, at: refundAt).value
                for (product, quantity) in order.lines {
                    model[order.day]![product]!.quantity -= quantity
                    model[order.day]![product]!.orders -= 1
                }
            }
            for end in 0..<7 {
                let span = first.adding(days: end - 2)...first.adding(days: end)
                var tally = SalesTally()
                for offset in 0..<3 {
                    for (product, sums) in model[span.lowerBound.adding(days: offset)] ?? [:] {
                        tally.add(product, quantity: sums.quantity, orders: sums.orders)
                    }
                }
                for rankBy in RankBy.allCases {
                    for limit in [1, 3, 8] {
                        let ranked = try await store.topSellers(in: span, limit: limit, by: rankBy)
                        #expect(
                            ranked.map { "\($0.productID.rawValue):\($0.quantitySold):\($0.orderCount)" }
                                == tally.top(limit, by: rankBy).map {
                                    "\($0.productID.rawValue):\($0.quantity):\($0.orders)"
                                },
                            "window ending day \(end), \(rankBy), top \(limit)"
                        )
                    }
                }
            }
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
}
