import CommerceDomain

/// AddItem, RemoveItem and UpdateQuantity: one use case, a change at a time on the user's queue.
public struct ChangeCart: Sendable {
    let store: any CartStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func add(userID: Int64, productID: Int64, quantity: Int64) async throws -> Cart {
        try await self.apply(userID) { .add(try Validate.productID(productID), try Validate.quantity(quantity, max: OrderRequest.maximumQuantity)) }
    }

    public func update(userID: Int64, productID: Int64, quantity: Int64) async throws -> Cart {
        try await self.apply(userID) { .set(try Validate.productID(productID), try Validate.quantity(quantity, max: OrderRequest.maximumQuantity)) }
    }

    public func remove(userID: Int64, productID: Int64) async throws -> Cart {
        try await self.apply(userID) { .remove(try Validate.productID(productID)) }
    }

    private func apply(_ rawUser: Int64, _ change: () throws -> CartChange) async throws -> Cart {
        let user = try Validate.userID(rawUser)
        let change = try change()
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: user) { store.changeCart(user, change, at: clock()) }
    }
}

public struct GetCart: Sendable {
    let store: any CartStore

    public func callAsFunction(userID rawID: Int64) async throws -> Cart {
        let user = try Validate.userID(rawID)
        guard let cart = try await self.store.cart(of: user) else { throw CommerceError.userNotFound(user) }
        return cart
    }
}

public struct CheckoutCart: Sendable {
    let store: any CartStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID rawUser: Int64, couponID rawCoupon: Int64, idempotencyKey rawKey: String) async throws -> OrderReceipt {
        let user = try Validate.userID(rawUser)
        guard rawCoupon >= 0 else {
            throw CommerceError(.invalidArgument, .invalidCouponID, "coupon_id must be 0 (none) or a coupon id, got \(rawCoupon)")
        }
        let key = try Validate.idempotencyKey(rawKey)
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: user) {
            store.checkoutCart(user, couponID: rawCoupon == 0 ? nil : CouponID(rawCoupon), idempotencyKey: key, at: clock())
        }
    }
}
