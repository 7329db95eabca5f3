import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// The access of every method, as docs/security.md documents it. The server's own table (what
/// `ListMethods` reports) must match it exactly: a method added without a classification, or
/// classified otherwise than here, fails `everyMethodIsClassified`.
let documentedAccess: [String: String] = [
    "/framerpc.v1.Health/Check": "public",
    "/framerpc.v1.Reflection/ListMethods": "public",
    "/commerce.v1.ProductService/GetProduct": "public",
    "/commerce.v1.ProductService/ListProducts": "public",
    "/commerce.v1.ProductService/TopProducts": "public",
    "/commerce.v1.UserService/CreateUser": "service",
    "/commerce.v1.UserService/GetUser": "user",
    "/commerce.v1.BalanceService/ChargeBalance": "user",
    "/commerce.v1.BalanceService/GetBalance": "user",
    "/commerce.v1.BalanceService/ListBalanceHistory": "user",
    "/commerce.v1.CouponService/IssueCoupon": "user",
    "/commerce.v1.CouponService/ListUserCoupons": "user",
    "/commerce.v1.CartService/AddItem": "user",
    "/commerce.v1.CartService/RemoveItem": "user",
    "/commerce.v1.CartService/UpdateQuantity": "user",
    "/commerce.v1.CartService/GetCart": "user",
    "/commerce.v1.CartService/CheckoutCart": "user",
    "/commerce.v1.OrderService/PlaceOrder": "user",
    "/commerce.v1.OrderService/CreateOrder": "user",
    "/commerce.v1.OrderService/PayOrder": "user",
    "/commerce.v1.OrderService/CancelOrder": "user",
    "/commerce.v1.OrderService/GetOrder": "user",
    "/commerce.v1.OrderService/ListOrders": "user",
    "/commerce.v1.AdminService/CreateProduct": "admin",
    "/commerce.v1.AdminService/Restock": "admin",
    "/commerce.v1.AdminService/CreateCouponCampaign": "admin",
    "/commerce.v1.AdminService/Audit": "admin",
    "/commerce.v1.AdminService/ListRecentOrders": "admin",
    "/commerce.v1.AdminService/ListCouponCampaigns": "admin",
]

/// What user B owns, for user A's token to reach for.
struct Victim {
    var user: Int64
    var paidOrder: Int64
    var pendingOrder: Int64
    var product: Int64
    var campaign: Int64
}

/// For every user-scoped method: the call user A's client makes on B's data, and the refusal
/// (code, reason) it must get. A user-scoped method missing here fails the test.
let crossUserCalls:
    [String: (code: StatusCode, reason: String, call: @Sendable (CommerceClient, Victim, Int64) async throws -> Void)] =
        [
            "/commerce.v1.UserService/GetUser": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.getUser(userID: b.user) }
            ),
            "/commerce.v1.BalanceService/ChargeBalance": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.chargeBalance(userID: b.user, amount: 5_000) }
            ),
            "/commerce.v1.BalanceService/GetBalance": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.getBalance(userID: b.user) }
            ),
            "/commerce.v1.BalanceService/ListBalanceHistory": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.listBalanceHistory(userID: b.user) }
            ),
            "/commerce.v1.CouponService/IssueCoupon": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.issueCoupon(userID: b.user, campaignID: b.campaign) }
            ),
            "/commerce.v1.CouponService/ListUserCoupons": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.listUserCoupons(userID: b.user) }
            ),
            "/commerce.v1.CartService/AddItem": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.addToCart(userID: b.user, productID: b.product, quantity: 1) }
            ),
            "/commerce.v1.CartService/RemoveItem": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.removeFromCart(userID: b.user, productID: b.product) }
            ),
            "/commerce.v1.CartService/UpdateQuantity": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.updateCartQuantity(userID: b.user, productID: b.product, quantity: 3) }
            ),
            "/commerce.v1.CartService/GetCart": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.getCart(userID: b.user) }
            ),
            "/commerce.v1.CartService/CheckoutCart": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.checkoutCart(userID: b.user) }
            ),
            "/commerce.v1.OrderService/PlaceOrder": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.placeOrder(userID: b.user, items: [(b.product, 1)]) }
            ),
            "/commerce.v1.OrderService/CreateOrder": (
                .permissionDenied, "SUBJECT_MISMATCH",
                { c, b, _ in _ = try await c.createOrder(userID: b.user, items: [(b.product, 1)]) }
            ),
            // Naming B: refused. Naming itself with B's order: the order does not exist for A.
            "/commerce.v1.OrderService/PayOrder": (
                .notFound, "ORDER_NOT_FOUND",
                { c, b, a in _ = try await c.payOrder(userID: a, orderID: b.pendingOrder) }
            ),
            "/commerce.v1.OrderService/CancelOrder": (
                .notFound, "ORDER_NOT_FOUND",
                { c, b, a in _ = try await c.cancelOrder(userID: a, orderID: b.paidOrder) }
            ),
            "/commerce.v1.OrderService/GetOrder": (
                .notFound, "ORDER_NOT_FOUND", { c, b, _ in _ = try await c.getOrder(orderID: b.paidOrder) }
            ),
            "/commerce.v1.OrderService/ListOrders": (
                .permissionDenied, "SUBJECT_MISMATCH", { c, b, _ in _ = try await c.listOrders(userID: b.user) }
            ),
        ]

@Suite("Access: every method classified, a user's data theirs alone", .timeLimit(.minutes(2)))
struct AccessTests {
    @Test("The server's method table matches the documented access of every method; none is unclassified")
    func everyMethodIsClassified() async throws {
        try await withCommerceServer { _, client in
            let listed = try await client.listMethods()
            var served: [String: String] = [:]
            for method in listed { served[method.name] = method.access }
            for (name, access) in served.sorted(by: { $0.key < $1.key }) {
                #expect(["public", "user", "service", "admin"].contains(access), "\(name) is \(access): classify it")
                #expect(
                    documentedAccess[name] == access,
                    "\(name) is served as \(access), documented as \(documentedAccess[name] ?? "nothing")"
                )
            }
            #expect(
                Set(served.keys) == Set(documentedAccess.keys),
                "documented but not served: \(Set(documentedAccess.keys).subtracting(served.keys))"
            )
            let userScoped = Set(served.filter { $0.value == "user" }.keys)
            #expect(
                userScoped == Set(crossUserCalls.keys),
                "user-scoped methods without a cross-user case: \(userScoped.subtracting(crossUserCalls.keys))"
            )
        }
    }

    @Test(
        "For every user-scoped method, user A's token is refused for user B's data, and B's data is untouched",
        arguments: StoreKind.available
    )
    func crossUserRefused(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, service in
            let product = try await service.createProduct(name: "guarded", price: 1_000, initialStock: 100).id
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let campaign = try await service.createCouponCampaign(
                name: "guarded",
                kind: .fixed,
                amount: 100,
                totalQuantity: 10,
                validFromUnixMs: now - 60_000,
                validUntilUnixMs: now + 3_600_000
            ).id
            let a = try await fundedUser(service, 50_000, name: "a")
            let b = try await fundedUser(service, 50_000, name: "b")
            _ = try await service.addToCart(userID: b, productID: product, quantity: 2)
            let victim = Victim(
                user: b,
                paidOrder: try await service.placeOrder(userID: b, items: [(product, 1)]).order.id,
                pendingOrder: try await service.createOrder(userID: b, items: [(product, 1)]).order.id,
                product: product,
                campaign: campaign
            )
            let before = (
                balance: try await service.getBalance(userID: b), cart: try await service.getCart(userID: b),
                orders: try await service.listOrders(userID: b).orders,
                coupons: try await service.listUserCoupons(userID: b)
            )

            let asA = CommerceClient(port: server.port, token: userToken(a))
            for (method, expected) in crossUserCalls.sorted(by: { $0.key < $1.key }) {
                do {
                    try await expected.call(asA, victim, a)
                    Issue.record("\(method): user \(a)'s token was let at user \(b)'s data")
                } catch let error as RPCError {
                    #expect(error.code == expected.code && error.reason == expected.reason, "\(method): \(error)")
                    #expect(!error.message.contains(userToken(a)), "\(method): the error message holds the token")
                }
            }
            // The rightful user's flow works with the user's own token.
            _ = try await asA.chargeBalance(userID: a, amount: 1_000)
            _ = try await asA.addToCart(userID: a, productID: product, quantity: 1)
            let order = try await asA.checkoutCart(userID: a).order
            #expect(try await asA.getOrder(orderID: order.id).userID == a)
            #expect(try await asA.listOrders(userID: a).orders.map(\.id) == [order.id])
            _ = try await asA.issueCoupon(userID: a, campaignID: campaign)
            _ = try await asA.cancelOrder(userID: a, orderID: order.id)
            await asA.close()

            #expect(try await service.getBalance(userID: b) == before.balance)
            #expect(try await service.getCart(userID: b) == before.cart)
            #expect(try await service.listOrders(userID: b).orders == before.orders)
            #expect(try await service.listUserCoupons(userID: b) == before.coupons)
            #expect(try await service.audit().isEmpty)
        }
    }

    @Test("Browsing needs no token; everything else needs one; scopes gate service and admin methods")
    func scopes() async throws {
        try await withCommerceServer { server, service in
            let product = try await service.createProduct(name: "public", price: 1_000, initialStock: 5).id
            let user = try await fundedUser(service, 10_000)
            let anonymous = CommerceClient(port: server.port)
            #expect(try await anonymous.getProduct(productID: product).id == product)
            _ = try await anonymous.listProducts()
            _ = try await anonymous.topProducts(days: 3, limit: 5)
            _ = try await anonymous.health()
            _ = try await anonymous.listMethods()
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") {
                try await anonymous.getBalance(userID: user)
            }
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") { try await anonymous.createUser(name: "x") }
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") { try await anonymous.audit() }
            await anonymous.close()

            let asUser = CommerceClient(port: server.port, token: userToken(user))
            #expect(try await asUser.getBalance(userID: user) == 10_000)
            await expectRPCError(.permissionDenied, "SCOPE_MISSING") { try await asUser.createUser(name: "x") }
            await expectRPCError(.permissionDenied, "SCOPE_MISSING") { try await asUser.audit() }
            await expectRPCError(.permissionDenied, "SCOPE_MISSING") {
                try await asUser.restock(productID: product, quantity: 1)
            }
            await asUser.close()

            let storefront = CommerceClient(port: server.port, token: serviceToken)
            await expectRPCError(.permissionDenied, "SCOPE_MISSING") { try await storefront.audit() }
            await storefront.close()

            let operatorToken = testToken(subject: "ops", scopes: [.admin])
            let admin = CommerceClient(port: server.port, token: operatorToken)
            #expect(try await admin.audit().isEmpty, "an admin-scope token makes admin calls")
            await expectRPCError(.permissionDenied, "SCOPE_MISSING") { try await admin.getBalance(userID: user) }
            await admin.close()

            let impostor = CommerceClient(port: server.port, adminToken: "not-the-admin-token")
            await expectRPCError(.unauthenticated, "INVALID_CREDENTIALS") { try await impostor.audit() }
            await impostor.close()
        }
    }
}
