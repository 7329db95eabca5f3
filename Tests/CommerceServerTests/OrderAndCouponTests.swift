import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// A user with `balance` won charged.
func fundedUser(_ client: CommerceClient, _ balance: Int64, name: String = "buyer") async throws -> Int64 {
    let user = try await client.createUser(name: name)
    if balance > 0 { _ = try await client.chargeBalance(userID: user.id, amount: balance) }
    return user.id
}

@Suite("Orders and coupons through the real server", .timeLimit(.minutes(2)))
struct OrderAndCouponTests {
    @Test("PlaceOrder takes stock, debits the balance and records lines as sold; duplicate lines are merged")
    func placeOrder() async throws {
        try await withCommerceServer { server, client in
            let user = try await fundedUser(client, 100_000)
            let a = try await client.createProduct(name: "A", price: 10_000, initialStock: 10)
            let b = try await client.createProduct(name: "B", price: 5_000, initialStock: 5)
            let reply = try await client.placeOrder(userID: user, items: [(a.id, 2), (b.id, 1), (a.id, 1)])
            let order = reply.order
            #expect(order.status == .paid && order.total == 35_000 && order.discount == 0 && order.amountPaid == 35_000)
            #expect(order.lines.map(\.productID) == [a.id, b.id] && order.lines.map(\.quantity) == [3, 1])
            #expect(
                order.lines[0].productName == "A" && order.lines[0].unitPrice == 10_000
                    && order.lines[0].lineTotal == 30_000
            )
            #expect(reply.balanceAfter == 65_000 && !reply.replayed)
            #expect(try await client.getProduct(productID: a.id).stock == 7)
            #expect(try await client.getProduct(productID: b.id).stock == 4)
            #expect(try await client.getOrder(orderID: order.id) == order)
            #expect(try await client.listOrders(userID: user).orders.map(\.id) == [order.id])
            let history = try await client.listBalanceHistory(userID: user)
            #expect(history.entries.first?.type == .use && history.entries.first?.amount == -35_000)
            // A price change later does not change what was sold: the order keeps the name and unit
            // price it was placed at (the catalogue row is changed under the server's feet).
            try server.sqlite!.unsafeExecuteForTesting(
                "UPDATE products SET price = 99000, name = 'A renamed' WHERE id = \(a.id)"
            )
            #expect(try await client.getProduct(productID: a.id).price == 99_000, "the catalogue did change")
            let later = try await client.getOrder(orderID: order.id)
            #expect(
                later.lines[0].productName == "A" && later.lines[0].unitPrice == 10_000
                    && later.lines[0].lineTotal == 30_000
            )
            #expect(later.total == 35_000 && later == order)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test("refused orders carry their reasons and change nothing (all or nothing)", arguments: StoreKind.available)
    func refusedOrders(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let user = try await fundedUser(client, 20_000)
            let a = try await client.createProduct(name: "Plenty", price: 1_000, initialStock: 100)
            let scarce = try await client.createProduct(name: "Scarce", price: 1_000, initialStock: 1)
            let pricey = try await client.createProduct(name: "Pricey", price: 50_000, initialStock: 5)
            await expectRPCError(.invalidArgument, "EMPTY_ORDER") {
                try await client.placeOrder(userID: user, items: [])
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.placeOrder(userID: user, items: [(a.id, 0)])
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.placeOrder(userID: user, items: [(a.id, -2)])
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.placeOrder(userID: user, items: [(a.id, 600), (a.id, 600)])
            }
            await expectRPCError(.invalidArgument, "INVALID_PRODUCT_ID") {
                try await client.placeOrder(userID: user, items: [(0, 1)])
            }
            await expectRPCError(.invalidArgument, "INVALID_COUPON_ID") {
                try await client.placeOrder(userID: user, items: [(a.id, 1)], couponID: -1)
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") {
                try await client.placeOrder(userID: 999_999, items: [(a.id, 1)])
            }
            await expectRPCError(.notFound, "PRODUCT_NOT_FOUND") {
                try await client.placeOrder(userID: user, items: [(a.id, 1), (999_999, 1)])
            }
            // The first line took stock inside the transaction; the second failed; nothing stays taken.
            do {
                _ = try await client.placeOrder(userID: user, items: [(a.id, 5), (scarce.id, 2)])
                Issue.record("should be out of stock")
            } catch let error as RPCError {
                #expect(
                    error.reason == "OUT_OF_STOCK" && error.details["product_name"] == "Scarce"
                        && error.details["available"] == "1"
                )
            }
            await expectRPCError(.failedPrecondition, "INSUFFICIENT_BALANCE") {
                try await client.placeOrder(userID: user, items: [(pricey.id, 1)])
            }
            await expectRPCError(.notFound, "ORDER_NOT_FOUND") { try await client.getOrder(orderID: 424_242) }
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.listOrders(userID: 999_999) }
            #expect(try await client.getProduct(productID: a.id).stock == 100)
            #expect(try await client.getProduct(productID: scarce.id).stock == 1)
            #expect(try await client.getBalance(userID: user) == 20_000)
            #expect(try await client.listOrders(userID: user).orders.isEmpty)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "a repeated idempotency key returns the first order and pays once; another order under it is refused",
        arguments: StoreKind.available
    )
    func idempotentOrders(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await fundedUser(client, 50_000)
            let a = try await client.createProduct(name: "A", price: 4_000, initialStock: 10)
            let first = try await client.placeOrder(userID: user, items: [(a.id, 2)], idempotencyKey: "cart-1")
            let again = try await client.placeOrder(userID: user, items: [(a.id, 2)], idempotencyKey: "cart-1")
            #expect(again.replayed && again.order == first.order && again.balanceAfter == 42_000)
            await expectRPCError(.alreadyExists, "IDEMPOTENCY_KEY_REUSED") {
                try await client.placeOrder(userID: user, items: [(a.id, 3)], idempotencyKey: "cart-1")
            }
            #expect(try await client.getBalance(userID: user) == 42_000)
            #expect(try await client.getProduct(productID: a.id).stock == 8)
        }
    }

    @Test(
        "coupons: issue once per user, sold out at the quantity, applied at order, used once, owner checked",
        arguments: StoreKind.available
    )
    func coupons(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let now = nowMillis()
            let campaign = try await client.createCouponCampaign(
                name: "3,000 off",
                kind: .fixed,
                amount: 3_000,
                totalQuantity: 2,
                validFromUnixMs: now - 60_000,
                validUntilUnixMs: now + 3_600_000
            )
            let (u1, u2, u3) = (
                try await fundedUser(client, 50_000), try await fundedUser(client, 50_000),
                try await fundedUser(client, 50_000)
            )
            let c1 = try await client.issueCoupon(userID: u1, campaignID: campaign.id)
            #expect(c1.state == .available && c1.userID == u1 && c1.campaign.id == campaign.id)
            await expectRPCError(.alreadyExists, "COUPON_ALREADY_ISSUED") {
                try await client.issueCoupon(userID: u1, campaignID: campaign.id)
            }
            let c2 = try await client.issueCoupon(userID: u2, campaignID: campaign.id)
            await expectRPCError(.failedPrecondition, "COUPON_SOLD_OUT") {
                try await client.issueCoupon(userID: u3, campaignID: campaign.id)
            }
            await expectRPCError(.notFound, "CAMPAIGN_NOT_FOUND") {
                try await client.issueCoupon(userID: u3, campaignID: 99_999)
            }
            await expectRPCError(.invalidArgument, "INVALID_CAMPAIGN_ID") {
                try await client.issueCoupon(userID: u3, campaignID: 0)
            }

            let a = try await client.createProduct(name: "A", price: 10_000, initialStock: 10)
            await expectRPCError(.permissionDenied, "COUPON_NOT_OWNED") {
                try await client.placeOrder(userID: u3, items: [(a.id, 1)], couponID: c2.id)
            }
            await expectRPCError(.notFound, "COUPON_NOT_FOUND") {
                try await client.placeOrder(userID: u1, items: [(a.id, 1)], couponID: 99_999)
            }
            let order = try await client.placeOrder(userID: u1, items: [(a.id, 2)], couponID: c1.id).order
            #expect(
                order.total == 20_000 && order.discount == 3_000 && order.amountPaid == 17_000
                    && order.couponID == c1.id
            )
            #expect(try await client.getBalance(userID: u1) == 33_000)
            await expectRPCError(.failedPrecondition, "COUPON_ALREADY_USED") {
                try await client.placeOrder(userID: u1, items: [(a.id, 1)], couponID: c1.id)
            }
            let listed = try await client.listUserCoupons(userID: u1)
            #expect(listed.count == 1 && listed[0].state == .used && listed[0].orderID == order.id)
            #expect(try await client.listUserCoupons(userID: u3).isEmpty)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "CancelOrder refunds a paid order: stock, balance (REFUND entry) and coupon come back; once only",
        arguments: StoreKind.available
    )
    func cancelOrder(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let now = nowMillis()
            let campaign = try await client.createCouponCampaign(
                name: "2,000 off",
                kind: .fixed,
                amount: 2_000,
                totalQuantity: 5,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let user = try await fundedUser(client, 30_000)
            let stranger = try await fundedUser(client, 0)
            let product = try await client.createProduct(name: "lamp", price: 6_000, initialStock: 4)
            let coupon = try await client.issueCoupon(userID: user, campaignID: campaign.id)
            let order = try await client.placeOrder(userID: user, items: [(product.id, 3)], couponID: coupon.id).order
            #expect(order.amountPaid == 16_000)
            #expect(try await client.getBalance(userID: user) == 14_000)

            await expectRPCError(.notFound, "ORDER_NOT_FOUND") {
                try await client.cancelOrder(userID: stranger, orderID: order.id)
            }
            await expectRPCError(.notFound, "ORDER_NOT_FOUND") {
                try await client.cancelOrder(userID: user, orderID: 999_999)
            }
            await expectRPCError(.invalidArgument, "INVALID_ORDER_ID") {
                try await client.cancelOrder(userID: user, orderID: 0)
            }
            let refund = try await client.cancelOrder(userID: user, orderID: order.id)
            #expect(refund.refunded == 16_000 && refund.balanceAfter == 30_000 && refund.order.status == .refunded)
            #expect(try await client.getOrder(orderID: order.id).status == .refunded)
            #expect(try await client.getProduct(productID: product.id).stock == 4)
            #expect(try await client.listUserCoupons(userID: user).first?.state == .available)
            #expect(try await client.listBalanceHistory(userID: user).entries.first?.type == .refund)
            await expectRPCError(.failedPrecondition, "ORDER_NOT_CANCELLABLE") {
                try await client.cancelOrder(userID: user, orderID: order.id)
            }
            // The coupon works again.
            let again = try await client.placeOrder(userID: user, items: [(product.id, 1)], couponID: coupon.id).order
            #expect(again.discount == 2_000)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "TopProducts ranks the last 3 days (Seoul) from the rollups, over orders spread across 5 days; refunds subtract",
        arguments: StoreKind.available
    )
    func topProducts(store: StoreKind) async throws {
        let clock = TestClock()
        let noon: Int64 = 1_781_578_800_000  // 2026-06-16 12:00 in Seoul
        try await withCommerceServer(store: store, clock: clock, rankingCache: 0) { server, client in
            let buyer = try await fundedUser(client, 1_000_000)
            var ids: [Int64] = []
            for name in ["old hit", "steady", "new favourite", "newcomer", "unsold"] {
                ids.append(try await client.createProduct(name: name, price: 1_000, initialStock: 1_000).id)
            }
            func buy(_ product: Int, _ quantity: Int64, daysAgo: Int64) async throws -> Int64 {
                clock.set(to: noon - daysAgo * 86_400_000)
                return try await client.placeOrder(userID: buyer, items: [(ids[product], quantity)]).order.id
            }
            _ = try await buy(0, 10, daysAgo: 4)  // outside a 3-day window
            _ = try await buy(0, 10, daysAgo: 3)  // outside too: the window is today and the 2 days before
            _ = try await buy(1, 3, daysAgo: 2)
            _ = try await buy(1, 1, daysAgo: 1)
            _ = try await buy(2, 2, daysAgo: 1)
            _ = try await buy(2, 2, daysAgo: 0)
            let refunded = try await buy(2, 5, daysAgo: 0)
            _ = try await buy(2, 1, daysAgo: 0)
            _ = try await buy(3, 1, daysAgo: 0)
            clock.set(to: noon)

            var top = try await client.topProducts()
            #expect(top.products.map(\.name) == ["new favourite", "steady", "newcomer"])
            #expect(top.products.map(\.quantitySold) == [10, 4, 1] && top.products.map(\.orderCount) == [4, 2, 1])
            #expect(
                top.windowEndUnixMs - top.windowStartUnixMs == 3 * 86_400_000
                    && top.windowStartUnixMs == noon - 12 * 3_600_000 - 2 * 86_400_000
            )

            _ = try await client.cancelOrder(userID: buyer, orderID: refunded)
            top = try await client.topProducts()
            #expect(top.products.map(\.name) == ["new favourite", "steady", "newcomer"])
            #expect(
                top.products.first?.quantitySold == 5 && top.products.first?.orderCount == 3,
                "the refund left the ranking"
            )

            let wide = try await client.topProducts(days: 5, limit: 2)
            #expect(
                wide.products.map(\.name) == ["old hit", "new favourite"] && wide.products.first?.quantitySold == 20
            )
            await expectRPCError(.invalidArgument, "INVALID_RANKING_WINDOW") { try await client.topProducts(days: 31) }
            await expectRPCError(.invalidArgument, "INVALID_RANKING_WINDOW") { try await client.topProducts(limit: -1) }
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "two-step orders: CreateOrder reserves stock and coupon, PayOrder pays, unpaid orders expire and release both",
        arguments: StoreKind.available
    )
    func twoStep(store: StoreKind) async throws {
        let clock = TestClock()
        try await withCommerceServer(
            store: store,
            clock: clock,
            configure: {
                $0.pendingOrderTTLMillis = 60_000
                $0.expirySweepMillis = 20
            }
        ) { server, client in
            let now = clock.now
            let campaign = try await client.createCouponCampaign(
                name: "1,000 off",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: 5,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 86_400_000
            )
            let user = try await fundedUser(client, 30_000)
            let stranger = try await fundedUser(client, 30_000)
            let product = try await client.createProduct(name: "desk", price: 10_000, initialStock: 3)
            let coupon = try await client.issueCoupon(userID: user, campaignID: campaign.id)

            // Reserve, then pay.
            let pending = try await client.createOrder(userID: user, items: [(product.id, 2)], couponID: coupon.id)
                .order
            #expect(pending.status == .pendingPayment)
            #expect(
                pending.expiresAtUnixMs >= now + 60_000 && pending.expiresAtUnixMs < now + 70_000,
                "created + the 60 s TTL"
            )
            #expect(try await client.getProduct(productID: product.id).stock == 1, "stock reserved")
            #expect(try await client.getBalance(userID: user) == 30_000, "nothing paid yet")
            #expect(
                try await client.listUserCoupons(userID: user).first?.state == .reserved,
                "coupon reserved, not used, while unpaid"
            )
            await expectRPCError(.notFound, "ORDER_NOT_FOUND") {
                try await client.payOrder(userID: stranger, orderID: pending.id)
            }
            let paid = try await client.payOrder(userID: user, orderID: pending.id)
            #expect(paid.order.status == .paid && paid.balanceAfter == 11_000 && paid.order.expiresAtUnixMs == 0)
            #expect(try await client.listUserCoupons(userID: user).first?.state == .used, "USED once the order is paid")
            await expectRPCError(.failedPrecondition, "ORDER_NOT_PAYABLE") {
                try await client.payOrder(userID: user, orderID: pending.id)
            }

            // Reserve and let it expire: stock and coupon come back by themselves.
            let second = try await client.createOrder(userID: stranger, items: [(product.id, 1)]).order
            #expect(try await client.getProduct(productID: product.id).stock == 0)
            await expectRPCError(.failedPrecondition, "OUT_OF_STOCK") {
                try await client.createOrder(userID: user, items: [(product.id, 1)])
            }
            clock.advance(byMillis: 61_000)
            // Expired at once (time decides); the sweep then returns the stock.
            #expect(try await client.getOrder(orderID: second.id).status == .expired)
            try await waitUntil("the sweeper returned the expired order's stock") {
                try await client.getProduct(productID: product.id).stock == 1
            }
            await expectRPCError(.failedPrecondition, "ORDER_EXPIRED") {
                try await client.payOrder(userID: stranger, orderID: second.id)
            }
            #expect(try await client.getBalance(userID: stranger) == 30_000)

            // Cancel a pending order: released at once, nothing refunded.
            let third = try await client.createOrder(userID: stranger, items: [(product.id, 1)]).order
            let cancelled = try await client.cancelOrder(userID: stranger, orderID: third.id)
            #expect(cancelled.order.status == .cancelled && cancelled.refunded == 0 && cancelled.balanceAfter == 30_000)
            #expect(try await client.getProduct(productID: product.id).stock == 1)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "an unpaid order past its expiry reads EXPIRED and PayOrder and CancelOrder refuse it with ORDER_EXPIRED, before and after the sweep; the sweep returns its stock once",
        arguments: StoreKind.available
    )
    func payAfterExpiry(store: StoreKind) async throws {
        let clock = TestClock()
        try await withCommerceServer(
            store: store,
            clock: clock,
            configure: {
                $0.pendingOrderTTLMillis = 1_000
                $0.expirySweepMillis = 3_600_000  // the sweeper runs once at start, then sleeps
            }
        ) { server, client in
            let user = try await fundedUser(client, 10_000)
            let product = try await client.createProduct(name: "p", price: 2_000, initialStock: 5)
            let pending = try await client.createOrder(userID: user, items: [(product.id, 1)]).order
            clock.advance(byMillis: 2_000)
            // Time decides: before the sweep the order reads EXPIRED everywhere, and PayOrder and
            // CancelOrder refuse it alike; its stock is still out (the sweep returns it).
            #expect(try await client.getOrder(orderID: pending.id).status == .expired)
            #expect(try await client.getOrder(orderID: pending.id).expiresAtUnixMs == 0)
            #expect(try await client.listOrders(userID: user).orders.map(\.status) == [.expired])
            await expectRPCError(.failedPrecondition, "ORDER_EXPIRED") {
                try await client.payOrder(userID: user, orderID: pending.id)
            }
            await expectRPCError(.failedPrecondition, "ORDER_EXPIRED") {
                try await client.cancelOrder(userID: user, orderID: pending.id)
            }
            #expect(try await client.getProduct(productID: product.id).stock == 4)
            #expect(try await client.getBalance(userID: user) == 10_000)
            // The sweep returns the stock once; the answers do not change; a second sweep finds nothing.
            #expect(try await server.useCases.expireOrders() == 1)
            #expect(try await server.useCases.expireOrders() == 0)
            #expect(try await client.getProduct(productID: product.id).stock == 5)
            #expect(try await client.getOrder(orderID: pending.id).status == .expired)
            await expectRPCError(.failedPrecondition, "ORDER_EXPIRED") {
                try await client.payOrder(userID: user, orderID: pending.id)
            }
            await expectRPCError(.failedPrecondition, "ORDER_EXPIRED") {
                try await client.cancelOrder(userID: user, orderID: pending.id)
            }
            #expect(try await client.getProduct(productID: product.id).stock == 5)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "a user who already holds a coupon of a sold-out campaign is told COUPON_ALREADY_ISSUED, not COUPON_SOLD_OUT, before and after the server remembers it sold out",
        arguments: StoreKind.available
    )
    func alreadyIssuedWinsOverSoldOut(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let now = nowMillis()
            let campaign = try await client.createCouponCampaign(
                name: "one",
                kind: .fixed,
                amount: 500,
                totalQuantity: 1,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let holder = try await fundedUser(client, 0, name: "holder")
            let late = try await fundedUser(client, 0, name: "late")
            _ = try await client.issueCoupon(userID: holder, campaignID: campaign.id)
            // The store decides (nothing remembered yet): the holder first.
            await expectRPCError(.alreadyExists, "COUPON_ALREADY_ISSUED") {
                try await client.issueCoupon(userID: holder, campaignID: campaign.id)
            }
            await expectRPCError(.failedPrecondition, "COUPON_SOLD_OUT") {
                try await client.issueCoupon(userID: late, campaignID: campaign.id)
            }
            // Now the process remembers the campaign sold out and answers without a write, the same way.
            let writes = server.store.groupCommitStatistics.writes
            await expectRPCError(.alreadyExists, "COUPON_ALREADY_ISSUED") {
                try await client.issueCoupon(userID: holder, campaignID: campaign.id)
            }
            await expectRPCError(.failedPrecondition, "COUPON_SOLD_OUT") {
                try await client.issueCoupon(userID: late, campaignID: campaign.id)
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") {
                try await client.issueCoupon(userID: 999_999, campaignID: campaign.id)
            }
            #expect(server.store.groupCommitStatistics.writes == writes)
            // A stranger is not remembered as one: once that id is a user, the answer is COUPON_SOLD_OUT.
            await expectRPCError(.notFound, "USER_NOT_FOUND") {
                try await client.issueCoupon(userID: late + 1, campaignID: campaign.id)
            }
            let newcomer = try await client.createUser(name: "newcomer").id
            #expect(newcomer == late + 1)
            await expectRPCError(.failedPrecondition, "COUPON_SOLD_OUT") {
                try await client.issueCoupon(userID: newcomer, campaignID: campaign.id)
            }
            await expectRPCError(.alreadyExists, "COUPON_ALREADY_ISSUED") {
                try await client.issueCoupon(userID: holder, campaignID: campaign.id)
            }
        }
    }

    @Test("an order whose stored status the server does not know is an INTERNAL error naming it, never read as PAID")
    func unknownStoredStatus() async throws {
        try await withCommerceServer { server, client in
            let user = try await fundedUser(client, 10_000)
            let product = try await client.createProduct(name: "p", price: 1_000, initialStock: 5)
            let order = try await client.placeOrder(userID: user, items: [(product.id, 1)]).order
            // Written around the CHECK, as a foreign writer or a newer schema might.
            try server.sqlite!.unsafeExecuteForTesting(
                """
                PRAGMA ignore_check_constraints = ON; UPDATE orders SET status = 'SHIPPED' WHERE id = \(order.id); PRAGMA ignore_check_constraints = OFF
                """
            )
            await expectRPCError(.internal, "INTERNAL_ERROR") { try await client.getOrder(orderID: order.id) }
            await expectRPCError(.internal, "INTERNAL_ERROR") {
                try await client.cancelOrder(userID: user, orderID: order.id)
            }
        }
    }

    @Test("the sweeper releases an expired order's coupon: AVAILABLE again and usable", arguments: StoreKind.available)
    func expiredReservationReleasesCoupon(store: StoreKind) async throws {
        let clock = TestClock()
        try await withCommerceServer(
            store: store,
            clock: clock,
            configure: {
                $0.pendingOrderTTLMillis = 1_000
                $0.expirySweepMillis = 20
            }
        ) { server, client in
            let now = clock.now
            let campaign = try await client.createCouponCampaign(
                name: "c",
                kind: .fixed,
                amount: 500,
                totalQuantity: 1,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 86_400_000
            )
            let user = try await fundedUser(client, 10_000)
            let product = try await client.createProduct(name: "p", price: 2_000, initialStock: 5)
            let coupon = try await client.issueCoupon(userID: user, campaignID: campaign.id)
            let pending = try await client.createOrder(userID: user, items: [(product.id, 1)], couponID: coupon.id)
                .order
            #expect(try await client.listUserCoupons(userID: user).first?.state == .reserved)
            clock.advance(byMillis: 2_000)
            try await waitUntil("the sweeper released the coupon") {
                try await client.listUserCoupons(userID: user).first?.state == .available
            }
            #expect(try await client.getOrder(orderID: pending.id).status == .expired)
            let order = try await client.placeOrder(userID: user, items: [(product.id, 1)], couponID: coupon.id).order
            #expect(order.discount == 500)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test("discounts: percent with a cap, and never more than the order total", arguments: StoreKind.available)
    func discounts(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let now = nowMillis()
            let percent = try await client.createCouponCampaign(
                name: "10% up to 2,500",
                kind: .percent,
                amount: 10,
                maxDiscount: 2_500,
                totalQuantity: 10,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let huge = try await client.createCouponCampaign(
                name: "50,000 off",
                kind: .fixed,
                amount: 50_000,
                totalQuantity: 10,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let user = try await fundedUser(client, 100_000)
            let cheap = try await client.createProduct(name: "cheap", price: 10_000, initialStock: 10)
            let dear = try await client.createProduct(name: "dear", price: 40_000, initialStock: 10)
            let p = try await client.issueCoupon(userID: user, campaignID: percent.id)
            let h = try await client.issueCoupon(userID: user, campaignID: huge.id)
            let capped = try await client.placeOrder(userID: user, items: [(dear.id, 1)], couponID: p.id).order
            #expect(capped.discount == 2_500 && capped.amountPaid == 37_500, "10% of 40,000 is 4,000, capped at 2,500")
            let free = try await client.placeOrder(userID: user, items: [(cheap.id, 1)], couponID: h.id).order
            #expect(free.discount == 10_000 && free.amountPaid == 0, "the discount stops at the total")
            #expect(try await client.getBalance(userID: user) == 100_000 - 37_500)
        }
    }

    @Test(
        "coupon windows: a campaign not open yet, and a coupon that expired before use (on a clock the test moves)",
        arguments: StoreKind.available
    )
    func windows(store: StoreKind) async throws {
        let clock = TestClock()
        try await withCommerceServer(store: store, clock: clock) { _, client in
            let now = clock.now
            let later = try await client.createCouponCampaign(
                name: "tomorrow",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: 5,
                validFromUnixMs: now + 86_400_000,
                validUntilUnixMs: now + 2 * 86_400_000
            )
            let brief = try await client.createCouponCampaign(
                name: "this hour",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: 5,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let user = try await fundedUser(client, 10_000)
            await expectRPCError(.failedPrecondition, "CAMPAIGN_NOT_OPEN") {
                try await client.issueCoupon(userID: user, campaignID: later.id)
            }
            let coupon = try await client.issueCoupon(userID: user, campaignID: brief.id)
            #expect(coupon.state == .available)
            clock.advance(byMillis: 2 * 3_600_000)
            let product = try await client.createProduct(name: "p", price: 2_000, initialStock: 1)
            await expectRPCError(.failedPrecondition, "COUPON_EXPIRED") {
                try await client.placeOrder(userID: user, items: [(product.id, 1)], couponID: coupon.id)
            }
            #expect(try await client.listUserCoupons(userID: user).first?.state == .expired)
            await expectRPCError(.failedPrecondition, "CAMPAIGN_NOT_OPEN") {
                try await client.issueCoupon(userID: try await fundedUser(client, 0), campaignID: brief.id)
            }
        }
    }

    @Test("campaign creation is admin-only and validated", arguments: StoreKind.available)
    func campaignValidation(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let now = nowMillis()
            await expectRPCError(.invalidArgument, "INVALID_DISCOUNT") {
                try await client.createCouponCampaign(
                    name: "x",
                    kind: .percent,
                    amount: 101,
                    totalQuantity: 1,
                    validFromUnixMs: now,
                    validUntilUnixMs: now + 1
                )
            }
            await expectRPCError(.invalidArgument, "INVALID_DISCOUNT") {
                try await client.createCouponCampaign(
                    name: "x",
                    kind: .unspecified,
                    amount: 1,
                    totalQuantity: 1,
                    validFromUnixMs: now,
                    validUntilUnixMs: now + 1
                )
            }
            await expectRPCError(.invalidArgument, "INVALID_WINDOW") {
                try await client.createCouponCampaign(
                    name: "x",
                    kind: .fixed,
                    amount: 1,
                    totalQuantity: 1,
                    validFromUnixMs: now,
                    validUntilUnixMs: now
                )
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.createCouponCampaign(
                    name: "x",
                    kind: .fixed,
                    amount: 1,
                    totalQuantity: 0,
                    validFromUnixMs: now,
                    validUntilUnixMs: now + 1
                )
            }
            let anonymous = CommerceClient(port: server.port)
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") {
                try await anonymous.createCouponCampaign(
                    name: "x",
                    kind: .fixed,
                    amount: 1,
                    totalQuantity: 1,
                    validFromUnixMs: now,
                    validUntilUnixMs: now + 1
                )
            }
            await anonymous.close()
        }
    }
}
