import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceServerRuntime
import CommerceUseCases
import Foundation
import Logging
import Testing

/// A fresh store of `kind` (a new SQLite file, or a new database on the test's PostgreSQL server),
/// closed and removed afterwards.
func withStore<T>(
    _ kind: StoreKind,
    calendar: ShopCalendar = .seoul,
    _ body: (any ServedStore) async throws -> T
) async throws -> T {
    switch kind {
    case .sqlite:
        let configuration = StoreConfiguration(path: temporaryDatabasePath(), synchronous: .normal, calendar: calendar)
        return try await withServedStore(sqlite: configuration, postgres: nil, logger: testLogger, body)
    case .postgres:
        let url = try temporaryPostgresDatabase()
        defer { dropPostgresDatabase(url) }
        return try await PostgresStore.withStore(PostgresStoreConfiguration(url: url, calendar: calendar)) {
            try await body($0)
        }
    }
}

/// A second store on the same database as `store` (another connection pool, as another process
/// has), for the time of `body`; `calendar` and `recount` as the store's configuration takes them.
func withSecondStore<T>(
    beside store: any ServedStore,
    calendar: ShopCalendar? = nil,
    recount: Bool = false,
    _ body: (any ServedStore) async throws -> T
) async throws -> T {
    if let sqlite = store as? SQLiteStore {
        var configuration = sqlite.configuration
        configuration.calendar = calendar ?? configuration.calendar
        configuration.recountRankings = recount
        return try await withServedStore(sqlite: configuration, postgres: nil, logger: testLogger, body)
    }
    var configuration = (store as! PostgresStore).configuration
    configuration.calendar = calendar ?? configuration.calendar
    configuration.recountRankings = recount
    return try await PostgresStore.withStore(configuration) { try await body($0) }
}

private let testLogger = Logger(label: "commerce.test.store")

/// Raw SQL outside the store's rules, to prove the audit notices.
func tamper(_ store: any ServedStore, _ sql: String) async throws {
    if let sqlite = store as? SQLiteStore { return try sqlite.unsafeExecuteForTesting(sql) }
    try await (store as! PostgresStore).unsafeExecuteForTesting(sql)
}

/// The ports' contract, proven against each store: what the use cases rely on, whichever database
/// holds the data. (Store-specific mechanics — SQLite's checkpointer and migrations of old files,
/// PostgreSQL's lanes — have their own tests.)
@Suite("Store contract, on SQLite and on PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct StoreContractTests {
    func charge(
        _ store: any ServedStore,
        _ user: UserID,
        _ amount: Won,
        key: String? = nil
    ) async throws -> ChargeReceipt {
        try await store.charge(
            ChargeCommand(userID: user, amount: amount, idempotencyKey: key, policy: .standard, at: 1)
        ).value
    }

    func reason(_ body: () async throws -> Void) async -> CommerceError.Reason? {
        do {
            try await body()
            return nil
        } catch let error as CommerceError {
            return error.reason
        } catch {
            Issue.record("expected a CommerceError, got \(error)")
            return nil
        }
    }

    @Test(
        "charges: balance and one history entry; the ceiling guarded; unknown users; idempotency keys per user",
        arguments: StoreKind.available
    )
    func charges(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            let first = try await self.charge(store, user.id, 3_000, key: "k")
            #expect(first.balance == 3_000 && !first.replayed)
            let again = try await self.charge(store, user.id, 3_000, key: "k")
            #expect(again.replayed && again.entryID == first.entryID && again.balance == 3_000)
            #expect(
                await self.reason { _ = try await self.charge(store, user.id, 4_000, key: "k") }
                    == .idempotencyKeyReused
            )
            _ = try await self.charge(store, user.id, 996_000)
            #expect(await self.reason { _ = try await self.charge(store, user.id, 2_000) } == .balanceLimitExceeded)
            _ = try await self.charge(store, user.id, 1_000)
            #expect(try await store.balance(of: user.id) == 1_000_000)
            let other = try await store.createUser(name: "b", at: 1).value
            #expect(try await !self.charge(store, other.id, 3_000, key: "k").replayed, "keys are per user")
            #expect(await self.reason { _ = try await self.charge(store, UserID(777), 1_000) } == .userNotFound)
            #expect(try await store.balance(of: UserID(777)) == nil)
            #expect(try await store.history(of: UserID(777), page: PageQuery(size: 1, after: nil)) == nil)
            let history = try #require(try await store.history(of: user.id, page: PageQuery(size: 10, after: nil)))
            #expect(history.items.map(\.amount) == [1_000, 996_000, 3_000])
            #expect(try await store.checkInvariants().isEmpty)
        }
    }

    @Test("history pages newest first and the cursor walks every entry exactly once", arguments: StoreKind.available)
    func paging(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            for index in 1...23 { _ = try await self.charge(store, user.id, Won(1_000 + index)) }
            var seen: [Won] = []
            var after: Int64?
            repeat {
                let page = try #require(try await store.history(of: user.id, page: PageQuery(size: 5, after: after)))
                seen += page.items.map(\.amount)
                after = page.nextAfter
            } while after != nil
            #expect(seen == (1...23).reversed().map { Won(1_000 + $0) })
        }
    }

    @Test(
        "writes submitted back to back, without waiting, complete in submission order; a refused one changes nothing",
        arguments: StoreKind.available
    )
    func submissionOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            let writes = (1...40).map { index in
                store.charge(
                    ChargeCommand(
                        userID: user.id,
                        amount: index == 7 ? 5_000_000 : Won(index) * 1_000,
                        idempotencyKey: nil,
                        policy: .standard,
                        at: 1
                    )
                )
            }
            var expected: Won = 0
            for (offset, write) in writes.enumerated() {
                let index = offset + 1
                if index == 7 {
                    #expect(await self.reason { _ = try await write.value } == .balanceLimitExceeded)
                    continue
                }
                expected += Won(index) * 1_000
                #expect(try await write.value.balance == expected)
            }
            #expect(try await store.balance(of: user.id) == expected)
            #expect(try await store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "an order takes stock, coupon and balance in one transaction; a refused one changes nothing; refund puts all back",
        arguments: StoreKind.available
    )
    func orderAndRefund(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            _ = try await self.charge(store, user.id, 100_000)
            let a = try await store.createProduct(name: "A", price: 10_000, stock: 5, at: 1).value
            let b = try await store.createProduct(name: "B", price: 3_000, stock: 1, at: 1).value
            let campaign = try await store.createCampaign(
                NewCampaign(
                    name: "c",
                    discount: .fixed(won: 2_000),
                    totalQuantity: 1,
                    validFrom: 0,
                    validUntil: Int64.max / 2
                ),
                at: 1
            ).value
            let coupon = try await store.issueCoupon(campaign: campaign.id, user: user.id, at: 2).value
            #expect(
                await self.reason { _ = try await store.issueCoupon(campaign: campaign.id, user: user.id, at: 2).value }
                    == .couponAlreadyIssued
            )
            let tooMany = try OrderRequest.validate(
                userID: user.id,
                items: [(a.id, 1), (b.id, 2)],
                couponID: coupon.id
            )
            #expect(
                await self.reason {
                    _ = try await store.placeOrder(PlaceOrderCommand(request: tooMany, idempotencyKey: nil, at: 3))
                        .value
                }
                    == .outOfStock
            )
            #expect(try await store.product(a.id)?.stock == 5, "the refused order took nothing")
            let request = try OrderRequest.validate(
                userID: user.id,
                items: [(a.id, 2), (b.id, 1)],
                couponID: coupon.id
            )
            let receipt = try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: "o", at: 3))
                .value
            #expect(receipt.order.status == .paid && receipt.balanceAfter == 100_000 - 23_000 + 2_000)
            #expect(
                try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: "o", at: 4)).value
                    .replayed
            )
            #expect(try await store.product(b.id)?.stock == 0)
            #expect(
                try await store.topSellers(
                    in: SalesDay(rawValue: 0)...SalesDay(rawValue: 100_000),
                    limit: 5,
                    by: .units
                ).map(\.quantitySold) == [2, 1]
            )
            let refund = try await store.refundOrder(receipt.order.id, user: user.id, at: 5).value
            #expect(refund.refunded == 21_000 && refund.balanceAfter == 100_000)
            #expect(
                await self.reason { _ = try await store.refundOrder(receipt.order.id, user: user.id, at: 6).value }
                    == .orderNotCancellable
            )
            #expect(try await store.product(a.id)?.stock == 5)
            #expect(try await store.product(b.id)?.stock == 1)
            #expect(try await store.coupons(of: user.id)?.first?.hold == .free)
            #expect(try await store.undeliveredEventCount() == 2, "paid, then refunded")
            #expect(try await store.checkInvariants().isEmpty)
        }
    }

    @Test("the audit notices a balance changed outside the rules", arguments: StoreKind.available)
    func auditNotices(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            _ = try await self.charge(store, user.id, 5_000)
            #expect(try await store.checkInvariants().isEmpty)
            try await tamper(store, "UPDATE users SET balance = balance + 1 WHERE id = \(user.id.rawValue)")
            #expect(
                try await store.checkInvariants().map(\.rule) == [
                    "balance-equals-history", "balance-equals-last-entry",
                ]
            )
        }
    }

    @Test(
        "the audit's grouped passes find a short payment, a refund that is not one, a payment without its event, lines that disagree with the counters and the rollups, and a newest entry that disagrees with the balance; the untouched rows pass",
        arguments: StoreKind.available
    )
    func auditOfGroupedPasses(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let buyer = try await store.createUser(name: "buyer", at: 1).value.id
            _ = try await self.charge(store, buyer, 10_000)
            let product = try await store.createProduct(name: "thing", price: 1_000, stock: 100, at: 1).value.id
            let tampered = try await store.createProduct(name: "tampered", price: 1_000, stock: 10, at: 1).value.id
            let untouched = try await store.createProduct(name: "untouched", price: 1_000, stock: 10, at: 1).value.id
            var orders: [OrderID] = []
            for item in [product, product, product, product, tampered, untouched] {
                let request = try OrderRequest.validate(userID: buyer, items: [(item, 1)], couponID: nil)
                orders.append(
                    try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).value
                        .order.id
                )
            }
            #expect(try await store.checkInvariants().isEmpty)
            try await tamper(store, "UPDATE payments SET amount = amount - 1 WHERE order_id = \(orders[1].rawValue)")
            try await tamper(store, "UPDATE orders SET status = 'REFUNDED' WHERE id = \(orders[2].rawValue)")
            try await tamper(store, "UPDATE outbox SET kind = 'ORDER_REFUNDED' WHERE order_id = \(orders[3].rawValue)")
            try await tamper(store, "UPDATE order_lines SET quantity = 3 WHERE order_id = \(orders[4].rawValue)")
            // The newest entry's balance only: the history still sums to the balance.
            try await tamper(
                store,
                """
                UPDATE balance_entries SET balance_after = balance_after + 1
                WHERE id = (SELECT MAX(id) FROM balance_entries WHERE user_id = \(buyer.rawValue))
                """
            )
            // The order made REFUNDED is no longer live nor paid: its product's counters and rollups
            // disagree with the lines too.
            let found = try await store.checkInvariants().map { "\($0.rule) \($0.subject)" }
            #expect(
                found.sorted() == [
                    "balance-equals-last-entry user \(buyer.rawValue)",
                    "paid-order-has-payment order \(orders[1].rawValue)",
                    "payment-has-outbox-event order \(orders[3].rawValue)",
                    "refunded-order-refunds-payment order \(orders[2].rawValue)",
                    "rollups-match-orders product \(product.rawValue)",
                    "rollups-match-orders product \(tampered.rawValue)",
                    "sold-equals-order-lines product \(product.rawValue)",
                    "sold-equals-order-lines product \(tampered.rawValue)",
                ]
            )
            #expect(!found.contains { $0.hasSuffix("product \(untouched.rawValue)") })
        }
    }

    @Test(
        "two stores (two connection pools, as two processes or hosts have) charging one user at the ceiling stay exact",
        arguments: StoreKind.available
    )
    func twoStores(kind: StoreKind) async throws {
        try await withStore(kind) { first in
            try await withSecondStore(beside: first) { second in
                let user = try await first.createUser(name: "a", at: 1).value
                let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<300 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            do {
                                _ = try await store.charge(
                                    ChargeCommand(
                                        userID: user.id,
                                        amount: 5_000,
                                        idempotencyKey: nil,
                                        policy: .standard,
                                        at: 1
                                    )
                                ).value
                                return true
                            } catch let error as CommerceError where error.reason == .balanceLimitExceeded {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(accepted == 200, "exactly 1,000,000 / 5,000 fit")
                #expect(try await first.balance(of: user.id) == 1_000_000)
                #expect(try await second.checkInvariants().isEmpty)
            }
        }
    }

    @Test("a day's ranking snapshot is taken once by two stores racing", arguments: StoreKind.available)
    func snapshotOnce(kind: StoreKind) async throws {
        try await withStore(kind) { first in
            try await withSecondStore(beside: first) { second in
                let today = SalesDay(rawValue: 20_000)
                async let a = first.takeRankingSnapshot(today: today, at: 1)
                async let b = second.takeRankingSnapshot(today: today, at: 1)
                let taken = try await [a, b]
                #expect(taken.filter { $0 }.count == 1)
                #expect(try await second.rankingSnapshot(today: today, days: 3, rankBy: .units, limit: 5) == [])
            }
        }
    }

    @Test(
        "a snapshot is ranked off the writer and saved once: of two read before either saved, the first saved stands",
        arguments: StoreKind.available
    )
    func snapshotSavedOnce(kind: StoreKind) async throws {
        try await withStore(kind) { first in
            try await withSecondStore(beside: first) { second in
                let a = try await first.createProduct(name: "a", price: 100, stock: 10, at: 1).value.id
                let b = try await first.createProduct(name: "b", price: 100, stock: 10, at: 1).value.id
                let today = SalesDay(rawValue: 20_000)
                // Both read before either saves (two instances at midnight); no sales: no entries.
                #expect(try await first.rankingSnapshotEntries(today: today) == [])
                #expect(try await second.rankingSnapshotEntries(today: today) == [])
                let mine = [
                    RankingSnapshot.Entry(days: 3, rankBy: .units, position: 1, productID: a, quantity: 5, orders: 2),
                    RankingSnapshot.Entry(days: 3, rankBy: .units, position: 2, productID: b, quantity: 3, orders: 3),
                ]
                let theirs = [
                    RankingSnapshot.Entry(days: 3, rankBy: .units, position: 1, productID: b, quantity: 9, orders: 9)
                ]
                #expect(try await first.saveRankingSnapshot(today: today, at: 1, entries: mine).value)
                #expect(!(try await second.saveRankingSnapshot(today: today, at: 2, entries: theirs).value))
                let stored = try #require(
                    try await second.rankingSnapshot(today: today, days: 3, rankBy: .units, limit: 5)
                )
                #expect(stored.map(\.productID) == [a, b] && stored.map(\.quantitySold) == [5, 3])
                #expect(try await second.rankingSnapshotEntries(today: today) == nil, "taken: nothing to rank")
            }
        }
    }

    @Test(
        "every user's orders and every campaign, newest first, paged: what the console lists",
        arguments: StoreKind.available
    )
    func operatorListings(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let product = try await store.createProduct(name: "p", price: 1_000, stock: 100, at: 1).value
            var placed: [Int64] = []
            for index in 0..<7 {
                let user = try await store.createUser(name: "u\(index)", at: 1).value
                _ = try await self.charge(store, user.id, 10_000)
                let request = try OrderRequest.validate(userID: user.id, items: [(product.id, 1)], couponID: nil)
                placed.append(
                    try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).value
                        .order.id.rawValue
                )
            }
            var seen: [Int64] = []
            var after: Int64?
            repeat {
                let page = try await store.recentOrders(page: PageQuery(size: 3, after: after))
                seen += page.items.map(\.id.rawValue)
                after = page.nextAfter
            } while after != nil
            #expect(seen == placed.reversed(), "newest first, each once, across users")
            for index in 0..<4 {
                _ = try await store.createCampaign(
                    try NewCampaign.validate(
                        name: "c\(index)",
                        fixed: true,
                        amount: 100,
                        maxDiscount: nil,
                        quantity: Int64(10 + index),
                        validFrom: 1,
                        validUntil: 10_000
                    ),
                    at: 1
                ).value
            }
            let first = try await store.campaigns(page: PageQuery(size: 3, after: nil))
            #expect(first.items.map(\.name) == ["c3", "c2", "c1"] && first.items.map(\.totalQuantity) == [13, 12, 11])
            let rest = try await store.campaigns(page: PageQuery(size: 3, after: first.nextAfter))
            #expect(rest.items.map(\.name) == ["c0"] && rest.nextAfter == nil)
        }
    }

    @Test(
        "a user's order pages read each order whole (every line, in product order) as one read of it does",
        arguments: StoreKind.available
    )
    func orderPagesCarryWholeOrders(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var products: [ProductID] = []
            for index in 0..<4 {
                products.append(
                    try await store.createProduct(name: "p\(index)", price: 100 * Int64(index + 1), stock: 100, at: 1)
                        .value.id
                )
            }
            let buyer = try await store.createUser(name: "buyer", at: 1).value
            let other = try await store.createUser(name: "other", at: 1).value
            _ = try await self.charge(store, buyer.id, 100_000)
            _ = try await self.charge(store, other.id, 100_000)
            var placed: [OrderID] = []
            for index in 0..<5 {
                // Lines named out of product order, a different set each time; the other user's
                // orders interleave, and must not show in the buyer's pages.
                let items = products.reversed().prefix(index % 4 + 1).map { ($0, Int64(index + 1)) }
                let request = try OrderRequest.validate(userID: buyer.id, items: items, couponID: nil)
                placed.append(
                    try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).value
                        .order.id
                )
                let stranger = try OrderRequest.validate(userID: other.id, items: [(products[0], 1)], couponID: nil)
                _ = try await store.placeOrder(PlaceOrderCommand(request: stranger, idempotencyKey: nil, at: 2)).value
            }
            var listed: [Order] = []
            var after: Int64?
            repeat {
                let page = try #require(try await store.orders(of: buyer.id, page: PageQuery(size: 2, after: after)))
                #expect(page.items.count <= 2)
                listed += page.items
                after = page.nextAfter
            } while after != nil
            #expect(listed.map(\.id) == placed.reversed(), "the buyer's orders, newest first, each once")
            for order in listed {
                #expect(order.lines.map(\.productID) == order.lines.map(\.productID).sorted())
                let alone = try #require(try await store.order(order.id))
                #expect(order == alone, "a listed order is the order read by itself")
            }
            #expect(listed.map(\.lines.count) == [1, 4, 3, 2, 1])
            let empty = try #require(
                try await store.orders(of: buyer.id, page: PageQuery(size: 2, after: placed[0].rawValue))
            )
            #expect(empty.items.isEmpty && empty.nextAfter == nil)
        }
    }

    @Test(
        "the relay lease keeps one relay at a time; events oldest first; a non-holder cannot mark them delivered",
        arguments: StoreKind.available
    )
    func relayLease(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let user = try await store.createUser(name: "a", at: 1).value
            _ = try await self.charge(store, user.id, 100_000)
            let product = try await store.createProduct(name: "p", price: 1_000, stock: 10, at: 1).value
            for _ in 0..<3 {
                let request = try OrderRequest.validate(userID: user.id, items: [(product.id, 1)], couponID: nil)
                _ = try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).value
            }
            let lease = try #require(try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 10).value)
            #expect(try await store.takeRelayLease(owner: "b", leaseMillis: 1_000, now: 500).value == nil)
            let events = try await store.events(for: lease, limit: 10)
            #expect(events.count == 3 && events.map(\.sequence) == events.map(\.sequence).sorted())
            // not the holder: ignored
            try await store.markDelivered(events.prefix(2).map(\.sequence), owner: "b").value
            #expect(try await store.undeliveredEventCount() == 3)
            try await store.markFailed(events[0].sequence, attempts: 1, error: "HTTP 500", retryAt: 200, owner: "a")
                .value
            #expect(
                try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 100).value == nil,
                "retry not due yet"
            )
            #expect(try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 300).value?.headAttempts == 1)
            try await store.markDelivered(events.prefix(2).map(\.sequence), owner: "a").value
            #expect(try await store.undeliveredEventCount() == 1)
            try await store.releaseRelayLease(owner: "a").value
            let next = try #require(try await store.takeRelayLease(owner: "c", leaseMillis: 1_000, now: 301).value)
            #expect(try await store.events(for: next, limit: 10).map(\.sequence) == [events[2].sequence])
        }
    }

    @Test(
        "delivered events past the retention are pruned, oldest first, a batch at a time; undelivered ones and the newest never; the audit stays clean",
        arguments: StoreKind.available
    )
    func pruneDelivered(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (user, orders) = try await self.ordersPaid(store, at: [100, 200, 300, 400, 500, 600])
            let lease = try #require(try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 700).value)
            let events = try await store.events(for: lease, limit: 10)
            #expect(events.count == 6)
            // The first four delivered; the fifth and sixth not yet.
            try await store.markDelivered(events.prefix(4).map(\.sequence), owner: "a").value
            #expect(try await store.pruneDeliveredEvents(before: 350, limit: 2).value == 2, "a batch at most")
            #expect(try await store.pruneDeliveredEvents(before: 350, limit: 10).value == 1, "the third (300)")
            #expect(try await store.pruneDeliveredEvents(before: 350, limit: 10).value == 0)
            #expect(try await store.checkInvariants().isEmpty, "the audit knows the events before 350 may be gone")
            // Undelivered events are never pruned, however old.
            #expect(try await store.pruneDeliveredEvents(before: 10_000, limit: 10).value == 1, "only the fourth")
            #expect(try await store.undeliveredEventCount() == 2)
            try await store.markDelivered(events.suffix(2).map(\.sequence), owner: "a").value
            // Everything delivered: all but the newest may go on SQLite, whose ids would repeat.
            let left = try await store.pruneDeliveredEvents(before: 10_000, limit: 10).value
            #expect(left == (kind == .sqlite ? 1 : 2))
            #expect(try await store.checkInvariants().isEmpty)
            // A refund after the prune still gets its event, and the audit still wants it.
            _ = try await store.refundOrder(orders[5], user: user.id, at: 20_000).value
            #expect(try await store.checkInvariants().isEmpty)
            let next = try #require(try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 20_001).value)
            #expect(try await store.events(for: next, limit: 10).count == 1, "the refund's event, new and undelivered")
        }
    }

    /// A funded user's orders of one unit each, placed (and paid) in turn at each of `stamps`.
    private func ordersPaid(_ store: any ServedStore, at stamps: [UnixMillis]) async throws -> (User, [OrderID]) {
        let user = try await store.createUser(name: "a", at: 1).value
        _ = try await self.charge(store, user.id, 100_000)
        let product = try await store.createProduct(name: "p", price: 1_000, stock: 10, at: 1).value
        var orders: [OrderID] = []
        for at in stamps {
            let request = try OrderRequest.validate(userID: user.id, items: [(product.id, 1)], couponID: nil)
            orders.append(
                try await store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: at)).value.order
                    .id
            )
        }
        return (user, orders)
    }

    @Test(
        "events are pruned in sequence order: one committed out of time order waits for the newer one before it, and the audit stays clean",
        arguments: StoreKind.available
    )
    func pruneInSequenceOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // Committed in this order, stamped 100, 300, 200, 400: the third is older than the second.
            _ = try await self.ordersPaid(store, at: [100, 300, 200, 400])
            let lease = try #require(try await store.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 500).value)
            let events = try await store.events(for: lease, limit: 10)
            try await store.markDelivered(events.map(\.sequence), owner: "a").value
            #expect(
                try await store.pruneDeliveredEvents(before: 250, limit: 10).value == 1,
                "100; 200 waits behind 300"
            )
            #expect(try await store.checkInvariants().isEmpty)
            #expect(try await store.pruneDeliveredEvents(before: 350, limit: 10).value == 2, "300, then 200")
            #expect(try await store.checkInvariants().isEmpty)
            #expect(
                try await store.pruneDeliveredEvents(before: 450, limit: 10).value == (kind == .sqlite ? 0 : 1),
                "400"
            )
        }
    }

    @Test(
        "a store opened with another calendar than the database's is refused until it re-counts",
        arguments: StoreKind.available
    )
    func calendarMismatch(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let utc = ShopCalendar(timeZone: "UTC")!
            do {
                try await withSecondStore(beside: store, calendar: utc) { _ in }
                Issue.record("opened with another calendar")
            } catch let mismatch as CalendarMismatch {
                #expect(mismatch.database == "Asia/Seoul" && mismatch.configured == utc.identifier)
            }
            try await withSecondStore(beside: store, calendar: utc, recount: true) { (recounted) async throws in
                #expect(recounted.calendar.identifier == utc.identifier)
                #expect(try await recounted.checkInvariants().isEmpty)
            }
            await #expect(throws: CalendarMismatch.self) { try await withSecondStore(beside: store) { _ in } }
        }
    }

    @Test("the demo seed loads once, through the ports, and leaves a clean audit", arguments: StoreKind.available)
    func demoSeed(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let seeded = try await DemoCatalogue.seed(into: store)
            let again = try await DemoCatalogue.seed(into: store)
            #expect(seeded && !again)
            #expect(
                try await store.products(page: PageQuery(size: 100, after: nil)).items.count
                    == DemoCatalogue.products.count
            )
            #expect(try await store.checkInvariants().isEmpty)
        }
    }
}

@Suite("The test command's PostgreSQL server")
struct PostgresTestServerTests {
    @Test(
        "scripts/test.sh runs every store test on PostgreSQL too: with COMMERCE_REQUIRE_POSTGRES set, a missing server fails"
    )
    func serverGiven() {
        if ProcessInfo.processInfo.environment["COMMERCE_REQUIRE_POSTGRES"] == "1" {
            #expect(
                StoreKind.postgresServer != nil,
                "COMMERCE_TEST_POSTGRES is not set: the PostgreSQL cases would be skipped"
            )
            #expect(StoreKind.available == [.sqlite, .postgres])
        }
    }
}
