import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// Order races between two real `commerce-server` processes on one SQLite file: each process has
/// its own group committer, so these race SQL writers, not queues. Outcomes may differ run to run;
/// the invariants afterwards may not.
@Suite("Order races across two processes", .timeLimit(.minutes(5)))
struct CrossProcessOrderTests {
    static func outcome<T>(_ body: () async throws -> T) async -> Result<T, RPCError> {
        do { return .success(try await body()) } catch let error as RPCError { return .failure(error) } catch {
            return .failure(RPCError(code: .unknown, reason: "NOT_AN_RPC_ERROR", message: "\(error)"))
        }
    }

    @Test(
        "PayOrder ‖ PayOrder and PayOrder ‖ CancelOrder on the same orders from two processes: paid at most once, refunded at most once; balances and stock exact",
        arguments: StoreKind.available
    )
    func payAgainstPayAndCancel(store: StoreKind) async throws {
        try await withTwoServerProcesses(store: store) { a, b, _ in
            let product = try await a.createProduct(name: "raced", price: 1_000, initialStock: 10_000).id
            var users: [Int64] = []
            for index in 0..<20 {
                users.append(try await fundedUser(index % 2 == 0 ? a : b, 200_000, name: "u\(index)"))
            }
            // 10 pending orders per user, 1 to 3 units each.
            var orders: [(user: Int64, order: Int64, amount: Int64, quantity: Int64)] = []
            for (index, user) in users.enumerated() {
                for round in 0..<10 {
                    let quantity = Int64(1 + (index + round) % 3)
                    let created = try await (round % 2 == 0 ? a : b).createOrder(
                        userID: user,
                        items: [(product, quantity)]
                    )
                    #expect(created.order.status == .pendingPayment)
                    orders.append((user, created.order.id, created.order.amountPaid, quantity))
                }
            }
            let pending = orders
            // Even orders: pay from both processes at once. Odd orders: pay from one, cancel from the other.
            let results = await withTaskGroup(of: (Int, Bool?, Bool?, Int64?).self) { group in
                for (index, order) in pending.enumerated() {
                    group.addTask {
                        if index % 2 == 0 {
                            async let first = Self.outcome {
                                try await a.payOrder(userID: order.user, orderID: order.order)
                            }
                            async let second = Self.outcome {
                                try await b.payOrder(userID: order.user, orderID: order.order)
                            }
                            let (x, y) = await (first, second)
                            for result in [x, y] {
                                if case .failure(let error) = result {
                                    #expect(error.reason == "ORDER_NOT_PAYABLE", "\(error)")
                                }
                            }
                            return (index, (try? x.get()) != nil, (try? y.get()) != nil, nil)
                        } else {
                            async let pay = Self.outcome {
                                try await a.payOrder(userID: order.user, orderID: order.order)
                            }
                            async let cancel = Self.outcome {
                                try await b.cancelOrder(userID: order.user, orderID: order.order)
                            }
                            let (paid, cancelled) = await (pay, cancel)
                            if case .failure(let error) = paid {
                                #expect(error.reason == "ORDER_NOT_PAYABLE", "\(error)")
                            }
                            if case .failure(let error) = cancelled {
                                Issue.record("a pending or paid order can always be cancelled: \(error)")
                            }
                            return (
                                index, (try? paid.get()) != nil, (try? cancelled.get()) != nil,
                                try? cancelled.get().refunded
                            )
                        }
                    }
                }
                return await group.reduce(into: [(Int, Bool?, Bool?, Int64?)]()) { $0.append($1) }
            }
            var spent: [Int64: Int64] = [:]
            var sold: Int64 = 0
            var (payPayOnce, payThenCancel, cancelThenPay) = (0, 0, 0)
            for (index, first, second, refunded) in results {
                let order = pending[index]
                let final = try await a.getOrder(orderID: order.order)
                if index % 2 == 0 {
                    #expect(first != second, "order \(order.order): exactly one of two PayOrders succeeds")
                    #expect(final.status == .paid)
                    spent[order.user, default: 0] += order.amount
                    sold += order.quantity
                    payPayOnce += 1
                } else if first == true {
                    // Paid first, then the cancel refunded it in full.
                    #expect(final.status == .refunded && refunded == order.amount, "order \(order.order)")
                    payThenCancel += 1
                } else {
                    #expect(final.status == .cancelled && refunded == 0, "order \(order.order)")
                    cancelThenPay += 1
                }
            }
            #expect(payPayOnce == 100 && payThenCancel + cancelThenPay == 100)
            for user in users {
                #expect(try await b.getBalance(userID: user) == 200_000 - (spent[user] ?? 0), "user \(user)")
            }
            #expect(try await b.getProduct(productID: product).stock == 10_000 - sold)
        }
    }

    @Test(
        "two processes' expiry sweeps expire each unpaid order once, racing PayOrder at the deadline: PAID or EXPIRED, stock and coupons back exactly once",
        arguments: StoreKind.available
    )
    func sweepsAgainstPayment(store: StoreKind) async throws {
        try await withTwoServerProcesses(store: store, extra: ["--pending-order-ttl", "2", "--expiry-sweep-ms", "5"]) {
            a,
            b,
            _ in
            let product = try await a.createProduct(name: "timed", price: 500, initialStock: 1_000).id
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let campaign = try await a.createCouponCampaign(
                name: "timed",
                kind: .fixed,
                amount: 100,
                totalQuantity: 100,
                validFromUnixMs: now - 60_000,
                validUntilUnixMs: now + 3_600_000
            )
            var orders: [(user: Int64, order: Int64, expiresAt: Int64, coupon: Int64, amount: Int64)] = []
            for index in 0..<60 {
                let client = index % 2 == 0 ? a : b
                let user = try await fundedUser(client, 100_000, name: "t\(index)")
                let coupon = try await client.issueCoupon(userID: user, campaignID: campaign.id).id
                let created = try await client.createOrder(userID: user, items: [(product, 2)], couponID: coupon)
                orders.append((user, created.order.id, created.order.expiresAtUnixMs, coupon, created.order.amountPaid))
                // Looked at at once: the 60 orders take longer to place on a loaded machine than the
                // 2 s the first one has before it expires.
                if index == 0 { #expect(try await client.listUserCoupons(userID: user).first?.state == .reserved) }
            }
            // Each order is paid from the other process at a moment spread around its deadline.
            let placed = orders
            let paid = await withTaskGroup(of: (Int, Bool).self) { group in
                for (index, order) in placed.enumerated() {
                    group.addTask {
                        let at = order.expiresAt + Int64(index % 12) * 100 - 600  // 600 ms before to 500 ms after
                        let wait = at - Int64(Date().timeIntervalSince1970 * 1_000)
                        if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
                        let result = await Self.outcome {
                            try await (index % 2 == 0 ? b : a).payOrder(userID: order.user, orderID: order.order)
                        }
                        if case .failure(let error) = result { #expect(error.reason == "ORDER_EXPIRED", "\(error)") }
                        return (index, (try? result.get()) != nil)
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            // Every order ends PAID or EXPIRED; wait until the sweeps have moved the unpaid ones.
            try await waitUntil("no order is still pending") {
                for order in placed where try await a.getOrder(orderID: order.order).status == .pendingPayment {
                    return false
                }
                return true
            }
            var sold: Int64 = 0
            for (index, order) in placed.enumerated() {
                let final = try await b.getOrder(orderID: order.order)
                let coupon = try #require(
                    try await a.listUserCoupons(userID: order.user).first { $0.id == order.coupon }
                )
                if paid[index] == true {
                    #expect(final.status == .paid && coupon.state == .used, "order \(order.order)")
                    #expect(try await a.getBalance(userID: order.user) == 100_000 - order.amount)
                    sold += 2
                } else {
                    #expect(final.status == .expired && coupon.state == .available, "order \(order.order)")
                    #expect(try await a.getBalance(userID: order.user) == 100_000)
                }
            }
            #expect(
                try await a.getProduct(productID: product).stock == 1_000 - sold,
                "expired orders' units came back exactly once"
            )
            let paidCount = paid.values.filter { $0 }.count
            #expect(
                paidCount > 0 && paidCount < placed.count,
                "the race ran both ways: \(paidCount) of \(placed.count) paid"
            )
        }
    }

    @Test(
        "PlaceOrder and CheckoutCart raced with one idempotency key through two processes: one order per key, every answer names it",
        arguments: StoreKind.available
    )
    func sameKeyAcrossProcesses(store: StoreKind) async throws {
        try await withTwoServerProcesses(store: store) { a, b, _ in
            let product = try await a.createProduct(name: "keyed", price: 1_000, initialStock: 10_000).id
            var users: [Int64] = []
            for index in 0..<20 {
                users.append(try await fundedUser(index % 2 == 0 ? a : b, 100_000, name: "k\(index)"))
            }
            for user in users { _ = try await b.addToCart(userID: user, productID: product, quantity: 3) }
            let fixedUsers = users
            let answers = try await withThrowingTaskGroup(of: (Int64, String, Int64, Bool).self) { group in
                for user in fixedUsers {
                    for copy in 0..<6 {
                        let client = copy % 2 == 0 ? a : b
                        group.addTask {
                            let order = try await client.placeOrder(
                                userID: user,
                                items: [(product, 2)],
                                idempotencyKey: "order-\(user)"
                            )
                            return (user, "place", order.order.id, order.replayed)
                        }
                        group.addTask {
                            let order = try await client.checkoutCart(userID: user, idempotencyKey: "cart-\(user)")
                            return (user, "checkout", order.order.id, order.replayed)
                        }
                    }
                }
                return try await group.reduce(into: [(Int64, String, Int64, Bool)]()) { $0.append($1) }
            }
            for user in fixedUsers {
                for kind in ["place", "checkout"] {
                    let mine = answers.filter { $0.0 == user && $0.1 == kind }
                    #expect(mine.count == 6 && Set(mine.map(\.2)).count == 1, "user \(user) \(kind): one order id")
                    #expect(mine.filter { !$0.3 }.count == 1, "user \(user) \(kind): one first answer, five replays")
                }
                #expect(
                    try await a.getBalance(userID: user) == 100_000 - 5_000,
                    "2 units ordered + 3 checked out, once each"
                )
                #expect(try await b.getCart(userID: user).lines.isEmpty)
                #expect(try await a.listOrders(userID: user).orders.count == 2)
            }
            #expect(try await a.getProduct(productID: product).stock == 10_000 - 20 * 5)
        }
    }
}
