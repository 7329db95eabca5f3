import CommerceDomain
import CommerceUseCases
import Foundation
import GRDB
import Testing

@testable import CommerceSQLite

@Suite("seed --scale: a large database by bulk SQL")
struct ScaleSeedTests {
    @Test(
        "what the bulk seed writes is what the store would have: audit clean, every order paid with its lines, payment, history and event, the rollups match the lines"
    )
    func seedPassesTheAudit() async throws {
        let store = try temporaryStore()
        let plan = ScaleSeed.Plan(users: 50, products: 20, orders: 3_000, days: 5, heavyUserOrders: 120)
        let now: UnixMillis = 1_767_225_600_000  // 2026-01-01 00:00 UTC
        let seeded = try ScaleSeed.seed(into: store, plan: plan, now: now)
        #expect(seeded.orders == 3_000 && seeded.users == 50 && seeded.products == 20)
        // The same lines as the seed's SQL names: a product named twice in an order is one line.
        let expectedLines = (0..<3_000).reduce(0) { count, k in
            count
                + Set(
                    (0...(k % 4)).map { j in 1 + ((k * 31 + j * 7907) % 20) * ((k * 7919 + j * 104_729 + 11) % 20) / 20
                    }
                ).count
        }
        #expect(seeded.lines == expectedLines)
        #expect(try await store.checkInvariants().isEmpty)

        let counts = try store.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM orders WHERE status = 'PAID') AS paid,
                           (SELECT COUNT(*) FROM payments) AS payments,
                           (SELECT COUNT(*) FROM outbox) AS events,
                           (SELECT COUNT(*) FROM balance_entries) AS entries,
                           (SELECT delivered_through FROM outbox_relay) AS delivered,
                           (SELECT COUNT(DISTINCT day) FROM product_daily_sales) AS days,
                           (SELECT MIN(created_at) FROM orders) AS first, (SELECT MAX(created_at) FROM orders) AS last
                    """
            )!
        }
        #expect(counts["paid"] as Int == 3_000 && counts["payments"] as Int == 3_000)
        #expect(counts["events"] as Int == 3_000 && counts["delivered"] as Int == 3_000, "every event delivered")
        #expect(counts["entries"] as Int == 50 + 2 * 3_000, "a first charge per user, a charge and a use per order")
        #expect(counts["days"] as Int == 5)
        let calendar = store.configuration.calendar
        #expect(calendar.day(containing: counts["first"]) == calendar.day(containing: now).adding(days: -4))
        #expect((counts["last"] as UnixMillis) <= now)

        // The heavy user's 120 orders, newest first, in pages.
        let page = try #require(try await store.orders(of: UserID(1), page: PageQuery(size: 50, after: nil)))
        #expect(page.items.count == 50 && page.items.allSatisfy { $0.userID == UserID(1) })
        var total = 0
        var after: Int64?
        repeat {
            let next = try #require(try await store.orders(of: UserID(1), page: PageQuery(size: 50, after: after)))
            total += next.items.count
            after = next.nextAfter
        } while after != nil
        #expect(total == 120)

        // An event is what the relay would send: the store's own JSON shape.
        let event = try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT payload FROM outbox WHERE order_id = 7")!
        }
        let decoded = try JSONDecoder().decode(OrderEvent.self, from: Data(event.utf8))
        #expect(decoded.orderID == 7 && decoded.kind == .orderPaid && !decoded.lines.isEmpty)
        #expect(decoded.total == decoded.lines.reduce(0) { $0 + $1.unitPrice * $1.quantity })

        // The ranking over the last 3 days is the sum of those days' lines.
        let today = calendar.day(containing: now)
        let ranked = try await store.topSellers(in: today.adding(days: -2)...today, limit: 5, by: .units)
        let expected = try await store.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.product_id, SUM(l.quantity) AS units, COUNT(*) AS orders
                    FROM order_lines l JOIN orders o ON o.id = l.order_id
                    WHERE o.created_at >= ? GROUP BY l.product_id ORDER BY units DESC, orders DESC, l.product_id LIMIT 5
                    """,
                arguments: [calendar.start(of: today.adding(days: -2))]
            ).map { ($0["product_id"] as Int64, $0["units"] as Int64) }
        }
        #expect(ranked.map(\.productID.rawValue) == expected.map(\.0))
        #expect(ranked.map(\.quantitySold) == expected.map(\.1))
    }

    @Test(
        "unpaid orders past their time hold stock and charge nothing; the expiry sweep expires each once and gives the stock back"
    )
    func pendingOrdersExpire() async throws {
        let store = try temporaryStore()
        let plan = ScaleSeed.Plan(users: 30, products: 12, orders: 500, days: 3, heavyUserOrders: 10, pending: 1_200)
        let now: UnixMillis = 1_767_225_600_000
        _ = try ScaleSeed.seed(into: store, plan: plan, now: now)
        #expect(try await store.checkInvariants().isEmpty)
        let held = try store.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM orders WHERE status = 'PENDING_PAYMENT' AND expires_at <= ?) AS due,
                           (SELECT COUNT(*) FROM payments) AS payments, (SELECT COUNT(*) FROM outbox) AS events,
                           (SELECT SUM(initial_stock - stock) FROM products) AS taken,
                           (SELECT SUM(quantity) FROM order_lines) AS units
                    """,
                arguments: [now]
            )!
        }
        #expect(held["due"] as Int == 1_200 && held["payments"] as Int == 500 && held["events"] as Int == 500)
        #expect(held["taken"] as Int64 == held["units"] as Int64, "unpaid orders hold their stock")
        let today = store.configuration.calendar.day(containing: now)
        let ranked = try await store.topSellers(in: today.adding(days: -4)...today, limit: 50, by: .units)
        #expect(ranked.reduce(0) { $0 + $1.quantitySold } < held["units"] as Int64, "unpaid orders are not sales")

        var expired = 0
        while case let batch = try store.expireDueOrders(at: now, limit: 500).wait(), batch > 0 { expired += batch }
        #expect(expired == 1_200)
        #expect(try await store.checkInvariants().isEmpty)
        let returned = try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT SUM(returned) FROM products")!
        }
        let unpaidUnits = try await store.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT SUM(quantity) FROM order_lines WHERE order_id > 500")!
        }
        #expect(returned == unpaidUnits)
    }

    @Test(
        "unpaid orders confined to the first products buy the same products, order by order, in a small database and a larger one"
    )
    func pendingOrdersOnTheFirstProducts() async throws {
        let now: UnixMillis = 1_767_225_600_000
        var bought: [[Int64]] = []
        for (products, orders) in [(12, 300), (400, 900)] {
            let store = try temporaryStore()
            var plan = ScaleSeed.Plan(users: 30, products: products, orders: orders, days: 3, heavyUserOrders: 10)
            plan.pending = 600
            plan.pendingProducts = 10
            _ = try ScaleSeed.seed(into: store, plan: plan, now: now)
            bought.append(
                try await store.pool.read { db in
                    try Int64.fetchAll(
                        db,
                        sql: "SELECT product_id FROM order_lines WHERE order_id > ? ORDER BY order_id",
                        arguments: [orders]
                    )
                }
            )
            #expect(try await store.checkInvariants().isEmpty)
            var expired = 0
            while case let batch = try store.expireDueOrders(at: now, limit: 250).wait(), batch > 0 { expired += batch }
            #expect(expired == 600)
            #expect(try await store.checkInvariants().isEmpty)
        }
        #expect(bought[0].count == 600 && bought[0] == bought[1])
        #expect(bought[0].allSatisfy { (1...10).contains($0) } && Set(bought[0]).count > 1)
    }

    @Test(
        "over more days than the event retention, only the last week's orders keep their events, as a running server's pruning leaves them; the audit knows"
    )
    func eventsOfTheRetentionOnly() async throws {
        let store = try temporaryStore()
        let plan = ScaleSeed.Plan(users: 40, products: 10, orders: 2_000, days: 20, heavyUserOrders: 10)
        let now: UnixMillis = 1_767_225_600_000
        _ = try ScaleSeed.seed(into: store, plan: plan, now: now)
        let week: Int64 = 7 * 86_400_000
        let counts = try store.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM outbox) AS events,
                           (SELECT COUNT(*) FROM orders WHERE status = 'PAID' AND created_at >= ?) AS recent,
                           (SELECT COUNT(*) FROM outbox e JOIN orders o ON o.id = e.order_id WHERE o.created_at < ?) AS old,
                           (SELECT pruned_before FROM outbox_relay) AS pruned
                    """,
                arguments: [now - week, now - week]
            )!
        }
        #expect(counts["events"] as Int == counts["recent"] as Int && counts["old"] as Int == 0)
        #expect((counts["recent"] as Int) < 2_000 && (counts["recent"] as Int) > 500, "about 7 of 20 days")
        #expect(counts["pruned"] as Int64 == now - week)
        #expect(try await store.checkInvariants().isEmpty)
        #expect(try store.pruneDeliveredEvents(before: now - week, limit: 100).wait() == 0, "nothing left to prune")
    }

    @Test("the bulk seed refuses a database that has data")
    func refusesNonEmpty() throws {
        let store = try temporaryStore()
        _ = try store.createUser(name: "already here", at: 1).wait()
        #expect(throws: NotEmpty.self) {
            try ScaleSeed.seed(into: store, plan: ScaleSeed.Plan(users: 2, products: 4, orders: 1))
        }
    }
}
