import CommerceClient
import CommerceDomain
import CommerceProto
import CommerceTestSupport
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// The service's behaviour through its real handlers, use cases, queues and a real SQLite file,
/// over the in-process transport: no socket, so each test takes milliseconds. The same behaviour
/// over real sockets and processes is in CommerceServerTests.
@Suite("The service in-process: handlers, use cases and SQLite without a socket")
struct InProcessServiceTests {
    /// The error `body` fails with; records an issue if it does not fail.
    func failure(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            Issue.record("expected an error")
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("not an RPCError: \(error)")
            return nil
        }
    }

    @Test("charge, replay by idempotency key, history; a bad amount refused with its reason and nothing changed")
    func balance() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let user = try await client.createUser(name: "Kim").id
            let first = try await client.chargeBalance(userID: user, amount: 10_000, idempotencyKey: "charge-1")
            let again = try await client.chargeBalance(userID: user, amount: 10_000, idempotencyKey: "charge-1")
            #expect(first.balance == 10_000 && !first.replayed)
            #expect(again.replayed && again.entryID == first.entryID)
            let small = await self.failure { _ = try await client.chargeBalance(userID: user, amount: 999) }
            #expect(small?.code == .invalidArgument && small?.reason == "CHARGE_BELOW_MINIMUM")
            let negative = await self.failure { _ = try await client.chargeBalance(userID: user, amount: -5_000) }
            #expect(negative?.reason == "INVALID_AMOUNT")
            #expect(try await client.getBalance(userID: user) == 10_000)
            #expect(try await client.listBalanceHistory(userID: user).entries.map(\.amount) == [10_000])
        }
    }

    @Test("an order takes stock and balance; one beyond either is refused whole; a refund gives both back")
    func orders() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let user = try await client.createUser(name: "Lee").id
            _ = try await client.chargeBalance(userID: user, amount: 20_000)
            let product = try await client.createProduct(name: "mug", price: 6_000, initialStock: 2)
            let order = try await client.placeOrder(userID: user, items: [(product.id, 2)])
            #expect(order.order.total == 12_000 && order.balanceAfter == 8_000)
            #expect(try await client.getProduct(productID: product.id).stock == 0)
            let soldOut = await self.failure { _ = try await client.placeOrder(userID: user, items: [(product.id, 1)]) }
            #expect(soldOut?.code == .failedPrecondition && soldOut?.reason == "OUT_OF_STOCK")
            _ = try await client.restock(productID: product.id, quantity: 5)
            let broke = await self.failure { _ = try await client.placeOrder(userID: user, items: [(product.id, 2)]) }
            #expect(broke?.reason == "INSUFFICIENT_BALANCE")
            #expect(try await client.getProduct(productID: product.id).stock == 5, "a refused order takes nothing")
            let refund = try await client.cancelOrder(userID: user, orderID: order.order.id)
            #expect(refund.refunded == 12_000 && refund.balanceAfter == 20_000)
            #expect(try await client.getProduct(productID: product.id).stock == 7)
            #expect(try await commerce.store.checkInvariants().isEmpty)
        }
    }

    @Test("a campaign issues at most its quantity, once per user")
    func coupons() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let campaign = try await client.createCouponCampaign(
                name: "two only",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: 2,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 3_600_000
            )
            var users: [Int64] = []
            for index in 0..<3 { users.append(try await client.createUser(name: "u\(index)").id) }
            _ = try await client.issueCoupon(userID: users[0], campaignID: campaign.id)
            let twice = await self.failure {
                _ = try await client.issueCoupon(userID: users[0], campaignID: campaign.id)
            }
            #expect(twice?.reason == "COUPON_ALREADY_ISSUED")
            _ = try await client.issueCoupon(userID: users[1], campaignID: campaign.id)
            let late = await self.failure {
                _ = try await client.issueCoupon(userID: users[2], campaignID: campaign.id)
            }
            #expect(late?.reason == "COUPON_SOLD_OUT")
        }
    }

    @Test("a cart checks out into one order and empties")
    func cart() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let user = try await client.createUser(name: "Park").id
            _ = try await client.chargeBalance(userID: user, amount: 50_000)
            let pen = try await client.createProduct(name: "pen", price: 1_500, initialStock: 10)
            let pad = try await client.createProduct(name: "pad", price: 4_000, initialStock: 10)
            _ = try await client.addToCart(userID: user, productID: pen.id, quantity: 2)
            let cart = try await client.addToCart(userID: user, productID: pad.id, quantity: 1)
            #expect(cart.total == 7_000 && cart.lines.count == 2)
            let order = try await client.checkoutCart(userID: user)
            #expect(order.order.total == 7_000 && order.order.lines.count == 2)
            #expect(try await client.getCart(userID: user).lines.isEmpty)
        }
    }

    @Test("the gate runs in-process too: no token, another user's token, a user's token on an admin method")
    func access() async throws {
        try await withInProcessCommerce { commerce in
            let service = commerce.client()
            let alice = try await service.createUser(name: "Alice").id
            let bob = try await service.createUser(name: "Bob").id
            let anonymous = await self.failure { _ = try await commerce.anonymousClient().getBalance(userID: alice) }
            #expect(anonymous?.code == .unauthenticated && anonymous?.reason == "MISSING_CREDENTIALS")
            let asBob = CommerceClient(transport: commerce.client().rpc, token: commerce.credentials.userToken(bob))
            let stranger = await self.failure { _ = try await asBob.getBalance(userID: alice) }
            #expect(stranger?.code == .permissionDenied && stranger?.reason == "SUBJECT_MISMATCH")
            let notAdmin = await self.failure {
                _ = try await asBob.restock(
                    Commerce_V1_RestockRequest.with {
                        $0.productID = 1
                        $0.quantity = 1
                    }
                )
            }
            #expect(notAdmin?.code == .permissionDenied)
            #expect(try await asBob.getBalance(userID: bob) == 0, "a user's own data is theirs")
        }
    }

    @Test("an unknown method and a malformed request get their reasons")
    func badCalls() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let unknown = await self.failure {
                _ = try await client.rpc.call("/commerce.v1.Nope/Nothing", request: [], options: CallOptions())
            }
            #expect(unknown?.code == .unimplemented && unknown?.reason == "METHOD_NOT_FOUND")
            let malformed = await self.failure {
                _ = try await client.rpc.call(
                    Commerce_V1_UserService.CreateUser.descriptor.path,
                    request: [0x0A, 0x09, 0x41],
                    options: client.authorized(CallOptions())
                )
            }
            #expect(malformed?.code == .invalidArgument && malformed?.reason == "MALFORMED_MESSAGE")
        }
    }

    @Test("200 buyers racing for 50 units: 50 orders, stock + sold = initial, balances exact")
    func flashSale() async throws {
        try await withInProcessCommerce { commerce in
            let client = commerce.client()
            let product = try await client.createProduct(name: "limited", price: 1_000, initialStock: 50)
            var buyers: [Int64] = []
            for index in 0..<200 {
                let user = try await client.createUser(name: "buyer \(index)").id
                _ = try await client.chargeBalance(userID: user, amount: 1_000)
                buyers.append(user)
            }
            let sold = try await withThrowingTaskGroup(of: Bool.self) { group in
                for buyer in buyers {
                    group.addTask {
                        do {
                            _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)])
                            return true
                        } catch let error as RPCError where error.reason == "OUT_OF_STOCK" {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(sold == 50)
            #expect(try await client.getProduct(productID: product.id).stock == 0)
            var spent = 0
            for buyer in buyers where try await client.getBalance(userID: buyer) == 0 { spent += 1 }
            #expect(spent == 50, "exactly the 50 buyers who got a unit paid for it")
            #expect(try await commerce.store.checkInvariants().isEmpty)
        }
    }
}
