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
            try store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: key, at: clock()))
        }
    }
}

/// Cancels a paid order by refunding it. Runs on the buyer's write queue, like PlaceOrder.
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
        return try await self.queues.write(user: userID) { try store.refundOrder(OrderID(rawOrder), user: userID, at: clock()) }
    }
}

public struct GetOrder: Sendable {
    let store: any OrderStore

    public func callAsFunction(orderID rawID: Int64) async throws -> Order {
        guard rawID > 0 else {
            throw CommerceError(.invalidArgument, .invalidOrderID, "order_id must be a positive id, got \(rawID)")
        }
        guard let order = try await self.store.order(OrderID(rawID)) else {
            throw CommerceError(.notFound, .orderNotFound, "no order with id \(rawID)", details: ["order_id": "\(rawID)"])
        }
        return order
    }
}

public struct ListOrders: Sendable {
    let store: any OrderStore

    public func callAsFunction(userID rawID: Int64, pageSize: Int32, pageToken: String) async throws -> Page<Order> {
        let userID = try Validate.userID(rawID)
        let page = try PageQuery.parse(size: pageSize, token: pageToken)
        guard let orders = try await self.store.orders(of: userID, page: page) else {
            throw CommerceError.userNotFound(userID)
        }
        return orders
    }
}
