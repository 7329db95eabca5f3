import CommerceDomain

/// AddItem, RemoveItem and UpdateQuantity: one use case, a change at a time on the user's queue.
public struct ChangeCart: Sendable {
    let store: any CartStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(user: UserID, _ change: CartChange) async throws -> Cart {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: user) { store.changeCart(user, change, at: clock()) }
    }
}

public struct GetCart: Sendable {
    let store: any CartStore

    public func callAsFunction(user: UserID) async throws -> Cart {
        guard let cart = try await self.store.cart(of: user) else { throw CommerceError.userNotFound(user) }
        return cart
    }
}

public struct CheckoutCart: Sendable {
    let store: any CartStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(
        user: UserID,
        coupon: CouponID?,
        idempotencyKey key: String?
    ) async throws -> OrderReceipt {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: user) {
            store.checkoutCart(user, couponID: coupon, idempotencyKey: key, at: clock())
        }
    }
}
