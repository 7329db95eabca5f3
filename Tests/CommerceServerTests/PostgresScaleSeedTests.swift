import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceUseCases
import Testing

/// The most a ranking of the seeded plans can hold: every product.
private let everyProduct = 100

@Suite("seed --scale on PostgreSQL", .enabled(if: StoreKind.postgresServer != nil))
struct PostgresScaleSeedTests {
    let now: UnixMillis = 1_767_225_600_000  // 2026-01-01 00:00 UTC

    /// What both stores must agree on after seeding the same plan: the rankings of every window
    /// over every product (so each day's lines), the heavy user's newest orders with their lines,
    /// and the audit.
    private func fingerprint(_ store: any ServedStore) async throws -> [String] {
        let today = store.calendar.day(containing: self.now)
        var lines: [String] = []
        for days in [1, 3, 5, 7] {
            for rankBy in [RankBy.units, .orders] {
                let ranked = try await store.topSellers(
                    in: today.adding(days: 1 - days)...today,
                    limit: everyProduct,
                    by: rankBy
                )
                lines += ranked.map {
                    "\(days)d \(rankBy) \($0.productID.rawValue) \($0.quantitySold) \($0.orderCount)"
                }
            }
        }
        let page = try #require(try await store.orders(of: UserID(1), page: PageQuery(size: 50, after: nil)))
        lines += page.items.map { order in
            "order \(order.id.rawValue) \(order.status) \(order.total) \(order.createdAt) "
                + order.lines.map { "\($0.productID.rawValue)x\($0.quantity)@\($0.unitPrice)" }.joined(separator: ",")
        }
        for user in [1, 2, 17, 40] {
            lines.append("balance \(user) \(try #require(try await store.balance(of: UserID(Int64(user)))))")
        }
        return lines
    }

    @Test(
        "the same plan seeds the same shop as on SQLite: rankings of every window, the heavy user's orders and lines, balances; audit clean; new rows take the next ids; a second seed is refused"
    )
    func sameShopAsSQLite() async throws {
        let plan = ScaleSeedPlan(users: 50, products: 20, orders: 3_000, days: 7, heavyUserOrders: 120, pending: 40)
        let expected = try await withStore(.sqlite) { store in
            _ = try ScaleSeed.seed(into: store as! SQLiteStore, plan: plan, now: self.now)
            #expect(try await store.checkInvariants().isEmpty)
            return try await self.fingerprint(store)
        }
        try await withStore(.postgres) { store in
            let postgres = store as! PostgresStore
            let seeded = try await PostgresScaleSeed.seed(into: postgres, plan: plan, now: self.now)
            #expect(seeded.orders == 3_000 && seeded.users == 50 && seeded.products == 20)
            let violations = try await store.checkInvariants()
            #expect(violations.isEmpty, "\(violations)")
            let seen = try await self.fingerprint(store)
            #expect(seen.count == expected.count && seen.count > 100)
            for (got, want) in zip(seen, expected) where got != want {
                Issue.record("PostgreSQL \(got), SQLite \(want)")
            }
            // Seeded rows took explicit ids: the next ones follow them.
            let user = try await store.createUser(name: "after the seed", at: self.now).value
            #expect(user.id == UserID(51))
            let product = try await store.createProduct(name: "after", price: 1_000, stock: 5, at: self.now).value
            #expect(product.id.rawValue == 21)
            // The unpaid orders expire, each once, and the audit stays clean.
            var expired = 0
            while case let batch = try await store.expireDueOrders(at: self.now, limit: 16).value, batch > 0 {
                expired += batch
            }
            #expect(expired == 40)
            #expect(try await store.checkInvariants().isEmpty)
            await #expect(throws: NotEmpty.self) {
                try await PostgresScaleSeed.seed(into: postgres, plan: plan, now: self.now)
            }
        }
    }
}
