import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// The service edge turns proto3's conventions (0 = none or the default, empty = none) into typed
/// commands, and refuses every out-of-range field with its own reason, for every method that has
/// the field. Each case is one raw call over a real socket.
@Suite("Request fields at the service edge")
struct EdgeParsingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let reason: String
        let call: @Sendable (CommerceClient, Fixture) async throws -> Void
        var testDescription: String { "\(self.name) → \(self.reason)" }
    }

    struct Fixture: Sendable {
        let user: Int64
        let product: Int64
    }

    static func order(
        _ method: String,
        _ edit: @escaping @Sendable (inout Commerce_V1_PlaceOrderRequest, Fixture) -> Void
    ) -> @Sendable (CommerceClient, Fixture) async throws -> Void {
        { client, fixture in
            var request = Commerce_V1_PlaceOrderRequest.with {
                $0.userID = fixture.user
                $0.items = [
                    .with {
                        $0.productID = fixture.product
                        $0.quantity = 1
                    }
                ]
            }
            edit(&request, fixture)
            _ = try await client.call(
                "/commerce.v1.OrderService/\(method)",
                request,
                as: Commerce_V1_PlaceOrderResponse.self
            )
        }
    }

    static func item(_ product: Int64, _ quantity: Int64) -> Commerce_V1_OrderItem {
        Commerce_V1_OrderItem.with {
            $0.productID = product
            $0.quantity = quantity
        }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for method in ["PlaceOrder", "CreateOrder"] {
            cases += [
                Case(name: "\(method) user 0", reason: "INVALID_USER_ID", call: order(method) { r, _ in r.userID = 0 }),
                Case(name: "\(method) no items", reason: "EMPTY_ORDER", call: order(method) { r, _ in r.items = [] }),
                Case(
                    name: "\(method) 51 lines",
                    reason: "TOO_MANY_LINES",
                    call: order(method) { r, f in r.items = (0..<51).map { _ in item(f.product, 1) } }
                ),
                Case(
                    name: "\(method) product 0",
                    reason: "INVALID_PRODUCT_ID",
                    call: order(method) { r, _ in r.items = [item(0, 1)] }
                ),
                Case(
                    name: "\(method) quantity 0",
                    reason: "INVALID_QUANTITY",
                    call: order(method) { r, f in r.items = [item(f.product, 0)] }
                ),
                Case(
                    name: "\(method) quantity -5",
                    reason: "INVALID_QUANTITY",
                    call: order(method) { r, f in r.items = [item(f.product, -5)] }
                ),
                Case(
                    name: "\(method) merged lines above 1,000",
                    reason: "INVALID_QUANTITY",
                    call: order(method) { r, f in r.items = [item(f.product, 600), item(f.product, 600)] }
                ),
                Case(
                    name: "\(method) coupon -1",
                    reason: "INVALID_COUPON_ID",
                    call: order(method) { r, _ in r.couponID = -1 }
                ),
                Case(
                    name: "\(method) key with a space",
                    reason: "INVALID_IDEMPOTENCY_KEY",
                    call: order(method) { r, _ in r.idempotencyKey = "a b" }
                ),
                Case(
                    name: "\(method) key of 129",
                    reason: "INVALID_IDEMPOTENCY_KEY",
                    call: order(method) { r, _ in r.idempotencyKey = String(repeating: "k", count: 129) }
                ),
            ]
        }
        cases += [
            Case(name: "PayOrder order 0", reason: "INVALID_ORDER_ID") { c, f in
                _ = try await c.payOrder(userID: f.user, orderID: 0)
            },
            Case(name: "PayOrder user -1", reason: "INVALID_USER_ID") { c, _ in
                _ = try await c.payOrder(userID: -1, orderID: 1)
            },
            Case(name: "CancelOrder order -1", reason: "INVALID_ORDER_ID") { c, f in
                _ = try await c.cancelOrder(userID: f.user, orderID: -1)
            },
            Case(name: "GetOrder order 0", reason: "INVALID_ORDER_ID") { c, _ in _ = try await c.getOrder(orderID: 0) },
            Case(name: "ListOrders page size -1", reason: "INVALID_PAGE_SIZE") { c, f in
                _ = try await c.listOrders(userID: f.user, pageSize: -1)
            },
            Case(name: "ListOrders page size 501", reason: "INVALID_PAGE_SIZE") { c, f in
                _ = try await c.listOrders(userID: f.user, pageSize: 501)
            },
            Case(name: "ListOrders forged token", reason: "INVALID_PAGE_TOKEN") { c, f in
                _ = try await c.listOrders(userID: f.user, pageToken: "c-4")
            },
            // Found by FuzzPageToken (Tests/Fuzz/Regressions): numbers the server never issues as tokens.
            Case(name: "ListOrders token c-0", reason: "INVALID_PAGE_TOKEN") { c, f in
                _ = try await c.listOrders(userID: f.user, pageToken: "c-0")
            },
            Case(name: "ListOrders token c+5", reason: "INVALID_PAGE_TOKEN") { c, f in
                _ = try await c.listOrders(userID: f.user, pageToken: "c+5")
            },
            Case(name: "ListProducts token c007", reason: "INVALID_PAGE_TOKEN") { c, _ in
                _ = try await c.listProducts(pageToken: "c007")
            },
            Case(name: "ListProducts page size -1", reason: "INVALID_PAGE_SIZE") { c, _ in
                _ = try await c.listProducts(pageSize: -1)
            },
            Case(name: "ListProducts forged token", reason: "INVALID_PAGE_TOKEN") { c, _ in
                _ = try await c.listProducts(pageToken: "drop table")
            },
            Case(name: "ListBalanceHistory user 0", reason: "INVALID_USER_ID") { c, _ in
                _ = try await c.listBalanceHistory(userID: 0)
            },
            Case(name: "GetBalance user -2", reason: "INVALID_USER_ID") { c, _ in _ = try await c.getBalance(userID: -2)
            },
            Case(name: "ChargeBalance amount -1", reason: "INVALID_AMOUNT") { c, f in
                _ = try await c.chargeBalance(userID: f.user, amount: -1)
            },
            Case(name: "TopProducts days -1", reason: "INVALID_RANKING_WINDOW") { c, _ in
                _ = try await c.topProducts(days: -1)
            },
            Case(name: "TopProducts days 31", reason: "INVALID_RANKING_WINDOW") { c, _ in
                _ = try await c.topProducts(days: 31)
            },
            Case(name: "TopProducts limit 51", reason: "INVALID_RANKING_WINDOW") { c, _ in
                _ = try await c.topProducts(limit: 51)
            },
            Case(name: "TopProducts rank_by 9", reason: "INVALID_RANK_BY") { c, _ in
                _ = try await c.topProducts(rankBy: .UNRECOGNIZED(9))
            },
            Case(name: "TopProducts window 9", reason: "INVALID_RANKING_WINDOW") { c, _ in
                _ = try await c.topProducts(window: .UNRECOGNIZED(9))
            },
            Case(name: "AddItem quantity 0", reason: "INVALID_QUANTITY") { c, f in
                _ = try await c.addToCart(userID: f.user, productID: f.product, quantity: 0)
            },
            Case(name: "AddItem quantity 1,001", reason: "INVALID_QUANTITY") { c, f in
                _ = try await c.addToCart(userID: f.user, productID: f.product, quantity: 1_001)
            },
            Case(name: "AddItem product 0", reason: "INVALID_PRODUCT_ID") { c, f in
                _ = try await c.addToCart(userID: f.user, productID: 0, quantity: 1)
            },
            Case(name: "UpdateQuantity quantity -1", reason: "INVALID_QUANTITY") { c, f in
                _ = try await c.updateCartQuantity(userID: f.user, productID: f.product, quantity: -1)
            },
            Case(name: "RemoveItem user 0", reason: "INVALID_USER_ID") { c, f in
                _ = try await c.removeFromCart(userID: 0, productID: f.product)
            },
            Case(name: "CheckoutCart coupon -3", reason: "INVALID_COUPON_ID") { c, f in
                _ = try await c.checkoutCart(userID: f.user, couponID: -3)
            },
            Case(name: "IssueCoupon campaign 0", reason: "INVALID_CAMPAIGN_ID") { c, f in
                _ = try await c.issueCoupon(userID: f.user, campaignID: 0)
            },
            Case(name: "ListUserCoupons user 0", reason: "INVALID_USER_ID") { c, _ in
                _ = try await c.listUserCoupons(userID: 0)
            },
            Case(name: "CreateUser blank name", reason: "INVALID_NAME") { c, _ in _ = try await c.createUser(name: "  ")
            },
            Case(name: "GetUser user 0", reason: "INVALID_USER_ID") { c, _ in _ = try await c.getUser(userID: 0) },
            Case(name: "GetProduct product 0", reason: "INVALID_PRODUCT_ID") { c, _ in
                _ = try await c.getProduct(productID: 0)
            },
            Case(name: "CreateProduct price 0", reason: "INVALID_PRICE") { c, _ in
                _ = try await c.createProduct(name: "x", price: 0, initialStock: 1)
            },
            Case(name: "CreateProduct stock -1", reason: "INVALID_QUANTITY") { c, _ in
                _ = try await c.createProduct(name: "x", price: 1, initialStock: -1)
            },
            Case(name: "Restock quantity 0", reason: "INVALID_QUANTITY") { c, f in
                _ = try await c.restock(productID: f.product, quantity: 0)
            },
            Case(name: "CreateCouponCampaign max_discount -1", reason: "INVALID_DISCOUNT") { c, _ in
                _ = try await c.createCouponCampaign(
                    name: "x",
                    kind: .percent,
                    amount: 10,
                    maxDiscount: -1,
                    totalQuantity: 1,
                    validFromUnixMs: 1,
                    validUntilUnixMs: 2
                )
            },
        ]
        return cases
    }()

    @Test("a field out of range is INVALID_ARGUMENT with its own reason", arguments: Self.cases)
    func refused(_ testCase: Case) async throws {
        try await withCommerceServer { _, client in
            let fixture = Fixture(
                user: try await fundedUser(client, 100_000),
                product: try await client.createProduct(name: "p", price: 100, initialStock: 10).id
            )
            await expectRPCError(.invalidArgument, testCase.reason) { try await testCase.call(client, fixture) }
        }
    }

    @Test(
        "0 and empty mean none or the default: coupon 0 orders without one, page size 0 pages by 50, days and limit 0 rank 3 days' top 5, an empty key is no key"
    )
    func conventions() async throws {
        try await withCommerceServer { _, client in
            let user = try await fundedUser(client, 1_000_000)
            var products: [Int64] = []
            for index in 0..<60 {
                products.append(try await client.createProduct(name: "p\(index)", price: 10, initialStock: 100).id)
            }
            let order = try await client.placeOrder(
                userID: user,
                items: [(products[0], 1)],
                couponID: 0,
                idempotencyKey: ""
            )
            #expect(order.order.couponID == 0 && order.order.discount == 0 && !order.replayed)
            let again = try await client.placeOrder(
                userID: user,
                items: [(products[0], 1)],
                couponID: 0,
                idempotencyKey: ""
            )
            #expect(again.order.id != order.order.id, "an empty key is no key: a second order, not a replay")
            let first = try await client.listProducts(pageSize: 0)
            #expect(first.products.count == 50 && !first.nextPageToken.isEmpty)
            let second = try await client.listProducts(pageToken: first.nextPageToken)
            #expect(second.products.count == 10 && second.nextPageToken.isEmpty)
            #expect(Set(first.products.map(\.id) + second.products.map(\.id)).count == 60)
            for product in products.prefix(7) { _ = try await client.placeOrder(userID: user, items: [(product, 1)]) }
            let top = try await client.topProducts(days: 0, limit: 0)
            #expect(top.products.count == 5 && top.windowEndUnixMs - top.windowStartUnixMs == 3 * 86_400_000)
        }
    }

    @Test(
        "a cart holds 50 products: the 51st is CART_FULL (FAILED_PRECONDITION), a state of the cart rather than a bad field"
    )
    func cartFull() async throws {
        try await withCommerceServer { _, client in
            let user = try await fundedUser(client, 1_000)
            for index in 0..<51 {
                let product = try await client.createProduct(name: "p\(index)", price: 10, initialStock: 10).id
                if index < 50 {
                    _ = try await client.addToCart(userID: user, productID: product, quantity: 1)
                } else {
                    await expectRPCError(.failedPrecondition, "CART_FULL") {
                        try await client.addToCart(userID: user, productID: product, quantity: 1)
                    }
                }
            }
            #expect(try await client.getCart(userID: user).lines.count == 50)
        }
    }
}

/// Bytes that are not a protobuf message, sent to every method of the catalogue: each is refused
/// as INVALID_ARGUMENT / MALFORMED_MESSAGE before any handler runs, and the connection stays usable.
@Suite("Malformed request messages, for every method")
struct MalformedMessageTests {
    static let payloads: [(name: String, bytes: [UInt8])] = [
        ("a length past the end", [0x0A, 0x09, 0x41]),
        ("a varint of 11 bytes", [0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
        ("field number 0", [0x00, 0x01]),
        ("a group that never ends", [0x0B]),
    ]

    @Test(
        "every method refuses each malformed payload with MALFORMED_MESSAGE; the connection then still answers",
        arguments: MethodCatalog.entries.map(\.name)
    )
    func everyMethod(_ method: String) async throws {
        try await withCommerceServer { _, client in
            for payload in Self.payloads {
                do {
                    let options = client.authorized(CallOptions(), admin: method.contains("AdminService"))
                    _ = try await client.rpc.call(method, request: payload.bytes, options: options)
                    Issue.record("\(method) accepted \(payload.name)")
                } catch let error as RPCError {
                    #expect(
                        error.code == .invalidArgument && error.reason == WireReason.malformedMessage,
                        "\(method), \(payload.name): \(error)"
                    )
                }
            }
            #expect(try await client.getBalance(userID: try await client.createUser(name: "after").id) == 0)
        }
    }
}
