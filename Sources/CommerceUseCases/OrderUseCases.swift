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

    public func callAsFunction(_ request: OrderRequest, idempotencyKey key: String?) async throws -> OrderReceipt {
        let (store, clock) = (self.store, self.clock)
        let traceParent = self.queues.traceParent
        return try await self.queues.write(user: request.userID) {
            store.placeOrder(
                PlaceOrderCommand(request: request, idempotencyKey: key, at: clock(), traceParent: traceParent)
            )
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

    public func callAsFunction(_ request: OrderRequest, idempotencyKey key: String?) async throws -> OrderReceipt {
        let (store, clock, ttl) = (self.store, self.clock, self.ttlMillis)
        let traceParent = self.queues.traceParent
        return try await self.queues.write(user: request.userID) {
            let now = clock()
            return store.placeOrder(
                PlaceOrderCommand(
                    request: request,
                    idempotencyKey: key,
                    at: now,
                    expiresAt: now + ttl,
                    traceParent: traceParent
                )
            )
        }
    }
}

public struct PayOrder: Sendable {
    let store: any OrderStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(user: UserID, order: OrderID) async throws -> OrderReceipt {
        let (store, clock) = (self.store, self.clock)
        let traceParent = self.queues.traceParent
        return try await self.queues.write(user: user) {
            store.payOrder(order, user: user, at: clock(), traceParent: traceParent)
        }
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

    public func callAsFunction(user: UserID, order: OrderID) async throws -> RefundReceipt {
        let (store, clock) = (self.store, self.clock)
        let traceParent = self.queues.traceParent
        return try await self.queues.write(user: user) {
            store.refundOrder(order, user: user, at: clock(), traceParent: traceParent)
        }
    }
}

/// An order as it is now: one whose payment time ran out reads EXPIRED, swept or not.
public struct GetOrder: Sendable {
    let store: any OrderStore
    let clock: @Sendable () -> UnixMillis

    /// The order, if `caller` may see it: another user's order is not found, as if never issued.
    public func callAsFunction(_ id: OrderID, for caller: Caller) async throws -> Order {
        guard let order = try await self.store.order(id), caller.maySee(ownedBy: order.userID) else {
            throw Order.notFound(id)
        }
        return order.asOf(self.clock())
    }
}

public struct ListOrders: Sendable {
    let store: any OrderStore
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(user: UserID, page: PageQuery) async throws -> Page<Order> {
        guard let orders = try await self.store.orders(of: user, page: page) else {
            throw CommerceError.userNotFound(user)
        }
        let now = self.clock()
        return Page(items: orders.items.map { $0.asOf(now) }, nextAfter: orders.nextAfter)
    }
}

/// Every user's newest orders, for operators (the console's "last orders").
public struct ListRecentOrders: Sendable {
    let store: any OrderStore
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(page: PageQuery) async throws -> Page<Order> {
        let orders = try await self.store.recentOrders(page: page)
        let now = self.clock()
        return Page(items: orders.items.map { $0.asOf(now) }, nextAfter: orders.nextAfter)
    }
}
