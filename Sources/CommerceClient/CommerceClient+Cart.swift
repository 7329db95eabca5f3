import CommerceProto
import FrameRPC
import FrameRPCClient

extension CommerceClient {
    public func addToCart(
        userID: Int64,
        productID: Int64,
        quantity: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_Cart {
        let reply = try await self.addItem(
            Commerce_V1_AddCartItemRequest.with {
                $0.userID = userID
                $0.productID = productID
                $0.quantity = quantity
            },
            options: options
        )
        return reply.cart
    }

    public func removeFromCart(
        userID: Int64,
        productID: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_Cart {
        let reply = try await self.removeItem(
            Commerce_V1_RemoveCartItemRequest.with {
                $0.userID = userID
                $0.productID = productID
            },
            options: options
        )
        return reply.cart
    }

    public func updateCartQuantity(
        userID: Int64,
        productID: Int64,
        quantity: Int64,
        options: CallOptions = CallOptions()
    ) async throws
        -> Commerce_V1_Cart
    {
        let reply = try await self.updateQuantity(
            Commerce_V1_UpdateCartItemRequest.with {
                $0.userID = userID
                $0.productID = productID
                $0.quantity = quantity
            },
            options: options
        )
        return reply.cart
    }

    public func getCart(userID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_Cart {
        let reply = try await self.getCart(Commerce_V1_GetCartRequest.with { $0.userID = userID }, options: options)
        return reply.cart
    }

    /// Orders the whole cart; the cart is emptied only if the order succeeds.
    public func checkoutCart(
        userID: Int64,
        couponID: Int64 = 0,
        idempotencyKey: String? = nil,
        options: CallOptions = CallOptions()
    )
        async throws -> Commerce_V1_PlaceOrderResponse
    {
        var options = options
        if let idempotencyKey {
            options.idempotent = true
            options.metadata[MetadataKey.idempotencyKey] = idempotencyKey
        }
        return try await self.checkoutCart(
            Commerce_V1_CheckoutCartRequest.with {
                $0.userID = userID
                $0.couponID = couponID
            },
            options: options
        )
    }
}
