import CommerceClient
import CommerceProto
import FrameRPC
import Testing

@Suite("Cart through the real server", .timeLimit(.minutes(2)))
struct CartTests {
    @Test(
        "add merges quantities and checks stock; update and remove; GetCart shows current price and availability",
        arguments: StoreKind.available
    )
    func editing(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await fundedUser(client, 0)
            let mug = try await client.createProduct(name: "mug", price: 8_000, initialStock: 5)
            let pen = try await client.createProduct(name: "pen", price: 1_500, initialStock: 100)
            _ = try await client.addToCart(userID: user, productID: mug.id, quantity: 2)
            var cart = try await client.addToCart(userID: user, productID: mug.id, quantity: 1)
            #expect(cart.lines.count == 1 && cart.lines[0].quantity == 3, "merged")
            await expectRPCError(.failedPrecondition, "OUT_OF_STOCK") {
                try await client.addToCart(userID: user, productID: mug.id, quantity: 3)
            }
            cart = try await client.addToCart(userID: user, productID: pen.id, quantity: 4)
            #expect(cart.total == 3 * 8_000 + 4 * 1_500 && cart.allAvailable)
            cart = try await client.updateCartQuantity(userID: user, productID: pen.id, quantity: 10)
            #expect(cart.lines.first { $0.productID == pen.id }?.lineTotal == 15_000)
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.updateCartQuantity(userID: user, productID: pen.id, quantity: 0)
            }
            await expectRPCError(.notFound, "PRODUCT_NOT_FOUND") {
                try await client.addToCart(userID: user, productID: 999_999, quantity: 1)
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.getCart(userID: 999_999) }
            cart = try await client.removeFromCart(userID: user, productID: pen.id)
            #expect(cart.lines.map(\.productID) == [mug.id])
            await expectRPCError(.notFound, "NOT_IN_CART") {
                try await client.removeFromCart(userID: user, productID: pen.id)
            }
            await expectRPCError(.notFound, "NOT_IN_CART") {
                try await client.updateCartQuantity(userID: user, productID: pen.id, quantity: 1)
            }
            // Someone else buys the mugs: the cart shows it.
            let other = try await fundedUser(client, 50_000)
            _ = try await client.placeOrder(userID: other, items: [(mug.id, 4)])
            let now = try await client.getCart(userID: user)
            #expect(now.lines[0].stock == 1 && !now.lines[0].available && !now.allAvailable)
        }
    }

    @Test(
        "CheckoutCart orders the whole cart and empties it; a failed checkout leaves the cart; a repeat replays",
        arguments: StoreKind.available
    )
    func checkout(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, client in
            let user = try await fundedUser(client, 20_000)
            let mug = try await client.createProduct(name: "mug", price: 8_000, initialStock: 5)
            let pen = try await client.createProduct(name: "pen", price: 1_500, initialStock: 100)
            await expectRPCError(.failedPrecondition, "EMPTY_CART") { try await client.checkoutCart(userID: user) }
            _ = try await client.addToCart(userID: user, productID: mug.id, quantity: 3)
            _ = try await client.addToCart(userID: user, productID: pen.id, quantity: 2)
            await expectRPCError(.failedPrecondition, "INSUFFICIENT_BALANCE") {
                try await client.checkoutCart(userID: user)
            }
            #expect(try await client.getCart(userID: user).lines.count == 2, "a failed checkout keeps the cart")
            #expect(try await client.getProduct(productID: mug.id).stock == 5)
            _ = try await client.updateCartQuantity(userID: user, productID: mug.id, quantity: 2)
            let placed = try await client.checkoutCart(userID: user, idempotencyKey: "checkout-1")
            #expect(placed.order.total == 19_000 && placed.balanceAfter == 1_000 && placed.order.lines.count == 2)
            #expect(try await client.getCart(userID: user).lines.isEmpty)
            let again = try await client.checkoutCart(userID: user, idempotencyKey: "checkout-1")
            #expect(again.replayed && again.order.id == placed.order.id)
            #expect(try await client.getBalance(userID: user) == 1_000)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }
}
