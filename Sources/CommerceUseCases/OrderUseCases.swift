import CommerceDomain

/// Orders and pays in one atomic step.
///
/// Runs on the buyer's write queue: the balance is per user, and stock is arbitrated by the
/// store's guarded statements, so an order never waits for a second queue — orders over
/// overlapping products in any order cannot deadlock.
public struct PlaceOrder: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID: Int64, items: [(productID: Int64, quantity: Int64)], couponID: Int64, idempotencyKey rawKey: String)
        async throws -> OrderReceipt
    {
        let request = try OrderRequest.validate(userID: userID, items: items, couponID: couponID)
        let key = try Validate.idempotencyKey(rawKey)
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: request.userID) {
            store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: key, at: clock()))
        }
    }
}

/// The first step of a two-step order: stock and coupon reserved, PENDING_PAYMENT until paid
/// (PayOrder), cancelled (CancelOrder), or expired after `ttl` — whichever comes first.
public struct CreateOrder: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let ttlMillis: Int64

    public func callAsFunction(userID: Int64, items: [(productID: Int64, quantity: Int64)], couponID: Int64, idempotencyKey rawKey: String)
        async throws -> OrderReceipt
    {
        let request = try OrderRequest.validate(userID: userID, items: items, couponID: couponID)
        let key = try Validate.idempotencyKey(rawKey)
        let (store, clock, ttl) = (self.store, self.clock, self.ttlMillis)
        return try await self.queues.write(user: request.userID) {
            let now = clock()
            return store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: key, at: now, expiresAt: now + ttl))
        }
    }
}

public struct PayOrder: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID rawUser: Int64, orderID rawOrder: Int64) async throws -> OrderReceipt {
        let userID = try Validate.userID(rawUser)
        guard rawOrder > 0 else {
            throw CommerceError(.invalidArgument, .invalidOrderID, "order_id must be a positive id, got \(rawOrder)")
        }
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: userID) { store.payOrder(OrderID(rawOrder), user: userID, at: clock()) }
    }
}

/// Expires unpaid orders whose time is up, in batches; run periodically by the server.
public struct ExpireOrders: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    /// - Returns: how many orders expired.
    public func callAsFunction(batch: Int = 500) async throws -> Int {
        let (store, clock) = (self.store, self.clock)
        var total = 0
        while true {
            let expired = try await self.queues.writeNew { store.expireDueOrders(at: clock(), limit: batch) }
            total += expired
            if expired < batch { return total }
        }
    }
}

/// Cancels an order: refunds a paid one, releases a pending one. Runs on the buyer's write queue, like PlaceOrder.
public struct CancelOrder: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID rawUser: Int64, orderID rawOrder: Int64) async throws -> RefundReceipt {
        let userID = try Validate.userID(rawUser)
        guard rawOrder > 0 else {
            throw CommerceError(.invalidArgument, .invalidOrderID, "order_id must be a positive id, got \(rawOrder)")
        }
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(user: userID) { store.refundOrder(OrderID(rawOrder), user: userID, at: clock()) }
    }
}

/// An order as it is now: one whose payment time ran out reads EXPIRED, swept or not.
public struct GetOrder: Sendable {
    let store: any OrderStore
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(orderID rawID: Int64) async throws -> Order {
        guard rawID > 0 else {
            throw CommerceError(.invalidArgument, .invalidOrderID, "order_id must be a positive id, got \(rawID)")
        }
        guard let order = try await self.store.order(OrderID(rawID)) else {
            throw CommerceError(.notFound, .orderNotFound, "no order with id \(rawID)", details: ["order_id": "\(rawID)"])
        }
        return order.asOf(self.clock())
    }
}

public struct ListOrders: Sendable {
    let store: any OrderStore
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID rawID: Int64, pageSize: Int32, pageToken: String) async throws -> Page<Order> {
        let userID = try Validate.userID(rawID)
        let page = try PageQuery.parse(size: pageSize, token: pageToken)
        guard let orders = try await self.store.orders(of: userID, page: page) else {
            throw CommerceError.userNotFound(userID)
        }
        let now = self.clock()
        return Page(items: orders.items.map { $0.asOf(now) }, nextToken: orders.nextToken)
    }
}
