import CommerceProto
import FrameRPC
import FrameRPCClient

extension CommerceClient {
    // MARK: Orders

    /// Orders and pays in one step. With an idempotency key the call is retried safely after a
    /// broken connection, and a repeat returns the first order (`replayed == true`).
    public func placeOrder(
        userID: Int64,
        items: [(productID: Int64, quantity: Int64)],
        couponID: Int64 = 0,
        idempotencyKey: String? = nil,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        try await self.order(Commerce_V1_OrderService.PlaceOrder.self, userID, items, couponID, idempotencyKey, options)
    }

    /// Two-step flow, step 1: reserves stock and coupon; the order is PENDING_PAYMENT until paid,
    /// cancelled or expired.
    public func createOrder(
        userID: Int64,
        items: [(productID: Int64, quantity: Int64)],
        couponID: Int64 = 0,
        idempotencyKey: String? = nil,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        try await self.order(
            Commerce_V1_OrderService.CreateOrder.self,
            userID,
            items,
            couponID,
            idempotencyKey,
            options
        )
    }

    private func order<Method: RPCMethodSpec>(
        _ method: Method.Type,
        _ userID: Int64,
        _ items: [(productID: Int64, quantity: Int64)],
        _ couponID: Int64,
        _ idempotencyKey: String?,
        _ options: CallOptions
    ) async throws -> Commerce_V1_PlaceOrderResponse
    where Method.Request == Commerce_V1_PlaceOrderRequest, Method.Response == Commerce_V1_PlaceOrderResponse {
        var options = options
        if let idempotencyKey {
            options.idempotent = true
            options.metadata[MetadataKey.idempotencyKey] = idempotencyKey
        }
        return try await self.call(
            method,
            Commerce_V1_PlaceOrderRequest.with {
                $0.userID = userID
                $0.items = items.map { item in
                    Commerce_V1_OrderItem.with {
                        $0.productID = item.productID
                        $0.quantity = item.quantity
                    }
                }
                $0.couponID = couponID
            },
            options: options
        )
    }

    /// Two-step flow, step 2.
    public func payOrder(
        userID: Int64,
        orderID: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        try await self.payOrder(
            Commerce_V1_PayOrderRequest.with {
                $0.userID = userID
                $0.orderID = orderID
            },
            options: options
        )
    }

    /// Refunds a paid order: stock, balance (REFUND entry) and coupon come back.
    public func cancelOrder(
        userID: Int64,
        orderID: Int64,
        options: CallOptions = CallOptions()
    ) async throws
        -> Commerce_V1_CancelOrderResponse
    {
        try await self.cancelOrder(
            Commerce_V1_CancelOrderRequest.with {
                $0.userID = userID
                $0.orderID = orderID
            },
            options: options
        )
    }

    public func getOrder(orderID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_Order {
        let reply = try await self.getOrder(Commerce_V1_GetOrderRequest.with { $0.orderID = orderID }, options: options)
        return reply.order
    }

    public func listOrders(
        userID: Int64,
        pageSize: Int32 = 0,
        pageToken: String = "",
        options: CallOptions = CallOptions()
    )
        async throws -> Commerce_V1_ListOrdersResponse
    {
        try await self.listOrders(
            Commerce_V1_ListOrdersRequest.with {
                $0.userID = userID
                $0.page.pageSize = pageSize
                $0.page.pageToken = pageToken
            },
            options: options
        )
    }

    // MARK: Coupons

    public func issueCoupon(
        userID: Int64,
        campaignID: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_Coupon {
        let reply = try await self.issueCoupon(
            Commerce_V1_IssueCouponRequest.with {
                $0.userID = userID
                $0.campaignID = campaignID
            },
            options: options
        )
        return reply.coupon
    }

    public func listUserCoupons(
        userID: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> [Commerce_V1_Coupon] {
        let reply = try await self.listUserCoupons(
            Commerce_V1_ListUserCouponsRequest.with { $0.userID = userID },
            options: options
        )
        return reply.coupons
    }

    /// Admin: the server's invariant check over the whole database; empty when consistent.
    public func audit(options: CallOptions = CallOptions()) async throws -> [Commerce_V1_AuditViolation] {
        let reply = try await self.audit(Commerce_V1_AuditRequest(), options: options)
        return reply.violations
    }

    /// Admin: a first-come-first-served campaign. `amount` is won for `.fixed`, percent for `.percent`.
    public func createCouponCampaign(
        name: String,
        kind: Commerce_V1_DiscountKind,
        amount: Int64,
        maxDiscount: Int64 = 0,
        totalQuantity: Int64,
        validFromUnixMs: Int64,
        validUntilUnixMs: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_CouponCampaign {
        let reply = try await self.createCouponCampaign(
            Commerce_V1_CreateCouponCampaignRequest.with {
                $0.name = name
                $0.kind = kind
                $0.amount = amount
                $0.maxDiscount = maxDiscount
                $0.totalQuantity = totalQuantity
                $0.validFromUnixMs = validFromUnixMs
                $0.validUntilUnixMs = validUntilUnixMs
            },
            options: options
        )
        return reply.campaign
    }
}
