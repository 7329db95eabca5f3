import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// Outcome counts by reason ("OK" for success).
func tally(_ outcomes: [String]) -> [String: Int] { outcomes.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

@Suite("Orders and coupons under concurrency", .serialized, .timeLimit(.minutes(5)))
struct OrderRaceTests {
    @Test(
        "1,000 concurrent PlaceOrder on a product with stock 100: exactly 100 succeed, the rest OUT_OF_STOCK; balances exact",
        arguments: StoreKind.available
    )
    func hotProduct(store: StoreKind) async throws {
        try await withCommerceServer(store: store, connections: 4) { server, client in
            let product = try await client.createProduct(name: "flash sneakers", price: 1_000, initialStock: 100)
            let users = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<250 { group.addTask { try await fundedUser(client, 10_000, name: "buyer \(index)") } }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            let clients = (0..<16).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<1_000 {
                    let buyer = clients[index % clients.count]
                    group.addTask {
                        do {
                            _ = try await buyer.placeOrder(userID: users[index % users.count], items: [(product.id, 1)])
                            return "OK"
                        } catch let error as RPCError { return error.reason }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tally(outcomes) == ["OK": 100, "OUT_OF_STOCK": 900])
            #expect(try await client.getProduct(productID: product.id).stock == 0)
            // Group commit: the orders shared transactions (one fsync for many), and the 900 refused
            // ones rolled back only their own savepoints.
            let commits = server.store.groupCommitStatistics
            #expect(commits.writes >= 1_000 && commits.batches < commits.writes, "\(commits)")
            var total: Int64 = 0
            for user in users { total += try await client.getBalance(userID: user) }
            #expect(total == 250 * 10_000 - 100 * 1_000, "charged - spent = balances")
            #expect(try await server.store.checkInvariants().isEmpty)
            for c in clients { await c.close() }
        }
    }

    @Test(
        "10,000 racing IssueCoupon for 100 coupons issue exactly 100, to 100 distinct users",
        arguments: StoreKind.available
    )
    func flashCrowd(store: StoreKind) async throws {
        // 10,000 calls at once are above the server's default admission bound (writes may take 6,144
        // of 8,192 slots): this test races the store, so it admits them all. Admission has its own tests.
        try await withCommerceServer(store: store, connections: 4, configure: { $0.rpc.maxCallsInFlight = 16_384 }) {
            server,
            client in
            let now = nowMillis()
            let campaign = try await client.createCouponCampaign(
                name: "first 100",
                kind: .fixed,
                amount: 5_000,
                totalQuantity: 100,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            let users = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<1_000 { group.addTask { try await client.createUser(name: "fan \(index)").id } }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            let clients = (0..<16).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let outcomes = try await withThrowingTaskGroup(of: (String, Int64).self) { group in
                for index in 0..<10_000 {
                    let fan = clients[index % clients.count]
                    let user = users[index % users.count]  // every user asks 10 times
                    group.addTask {
                        do {
                            let coupon = try await fan.issueCoupon(userID: user, campaignID: campaign.id)
                            return ("OK", coupon.userID)
                        } catch let error as RPCError { return (error.reason, user) }
                    }
                }
                return try await group.reduce(into: [(String, Int64)]()) { $0.append($1) }
            }
            let winners = outcomes.filter { $0.0 == "OK" }.map(\.1)
            #expect(winners.count == 100)
            #expect(Set(winners).count == 100, "no user got two")
            #expect(
                Set(outcomes.map(\.0)).isSubset(of: ["OK", "COUPON_SOLD_OUT", "COUPON_ALREADY_ISSUED"]),
                "\(tally(outcomes.map(\.0)))"
            )
            var held = 0
            for user in Set(users) { held += try await client.listUserCoupons(userID: user).count }
            #expect(held == 100)
            // Once sold out, rejections are answered without a database write.
            let writesBefore = server.store.groupCommitStatistics.writes
            let holders = Set(winners)
            for index in 0..<500 {
                // A holder is told it holds one (that refusal comes first), everyone else that none are left.
                let (code, reason): (StatusCode, String) =
                    holders.contains(users[index])
                    ? (.alreadyExists, "COUPON_ALREADY_ISSUED") : (.failedPrecondition, "COUPON_SOLD_OUT")
                await expectRPCError(code, reason) {
                    try await clients[index % clients.count].issueCoupon(userID: users[index], campaignID: campaign.id)
                }
            }
            #expect(server.store.groupCommitStatistics.writes == writesBefore, "no write for 500 sold-out requests")
            #expect(try await server.store.checkInvariants().isEmpty)
            for c in clients { await c.close() }
        }
    }

    @Test(
        "one user firing orders and charges at once from many connections ends at the exact balance",
        arguments: StoreKind.available
    )
    func ordersAndCharges(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            // Amounts that cannot cancel out: every order (10 won) together is less than one charge
            // (3,001 won), and no number of lost charges equals a count of lost orders under 301.
            let user = try await fundedUser(client, 50_000)
            let product = try await client.createProduct(name: "gum", price: 10, initialStock: 10_000)
            let clients = (0..<12).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<600 {
                    let c = clients[index % clients.count]
                    group.addTask {
                        do {
                            if index % 2 == 0 {
                                _ = try await c.placeOrder(userID: user, items: [(product.id, 1)])
                                return "ORDER"
                            }
                            _ = try await c.chargeBalance(userID: user, amount: 3_001)
                            return "CHARGE"
                        } catch let error as RPCError { return error.reason }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tally(outcomes) == ["ORDER": 300, "CHARGE": 300])
            #expect(try await client.getBalance(userID: user) == 50_000 + 300 * 3_001 - 300 * 10)
            #expect(try await client.getProduct(productID: product.id).stock == 9_700)
            #expect(try await server.store.checkInvariants().isEmpty)
            for c in clients { await c.close() }
        }
    }

    @Test(
        "orders over overlapping products in opposite orders: no deadlock, all answered, stock exact",
        arguments: StoreKind.available
    )
    func oppositeOrders(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let products = [
                try await client.createProduct(name: "A", price: 1_000, initialStock: 1_000),
                try await client.createProduct(name: "B", price: 1_000, initialStock: 1_000),
                try await client.createProduct(name: "C", price: 1_000, initialStock: 1_000),
            ].map(\.id)
            let users = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<40 { group.addTask { try await fundedUser(client, 100_000, name: "u\(index)") } }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            let clients = (0..<8).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<400 {
                    let order = index % 2 == 0 ? products : products.reversed()
                    let c = clients[index % clients.count]
                    group.addTask {
                        _ = try await c.placeOrder(userID: users[index % users.count], items: order.map { ($0, 1) })
                        return true
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(answered == 400)
            for product in products { #expect(try await client.getProduct(productID: product).stock == 600) }
            #expect(try await server.store.checkInvariants().isEmpty)
            for c in clients { await c.close() }
        }
    }

    @Test("50 racing cancels of one order from 10 connections refund it exactly once", arguments: StoreKind.available)
    func racingCancels(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let user = try await fundedUser(client, 50_000)
            let product = try await client.createProduct(name: "kettle", price: 20_000, initialStock: 3)
            let order = try await client.placeOrder(userID: user, items: [(product.id, 2)]).order
            let clients = (0..<10).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<50 {
                    let c = clients[index % clients.count]
                    group.addTask {
                        do {
                            _ = try await c.cancelOrder(userID: user, orderID: order.id)
                            return "OK"
                        } catch let error as RPCError { return error.reason }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tally(outcomes) == ["OK": 1, "ORDER_NOT_CANCELLABLE": 49])
            #expect(try await client.getBalance(userID: user) == 50_000)
            #expect(try await client.getProduct(productID: product.id).stock == 3)
            #expect(try await server.store.checkInvariants().isEmpty)
            for c in clients { await c.close() }
        }
    }
}
