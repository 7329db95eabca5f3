import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.OrderService`.
public struct OrderService: RPCService, Commerce_V1_OrderServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func placeOrder(
        _ request: Commerce_V1_PlaceOrderRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        let order = try request.orderRequest()
        let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
        return Self.reply(
            ShopMetrics.paid(
                try await ShopMetrics.countingStock { try await self.useCases.placeOrder(order, idempotencyKey: key) }
            )
        )
    }

    func createOrder(
        _ request: Commerce_V1_PlaceOrderRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        let order = try request.orderRequest()
        let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
        return Self.reply(
            try await ShopMetrics.countingStock { try await self.useCases.createOrder(order, idempotencyKey: key) }
        )
    }

    func payOrder(
        _ request: Commerce_V1_PayOrderRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        Self.reply(
            ShopMetrics.paid(try await self.useCases.payOrder(user: user, order: try Validate.orderID(request.orderID)))
        )
    }

    func cancelOrder(
        _ request: Commerce_V1_CancelOrderRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_CancelOrderResponse {
        let receipt = ShopMetrics.refunded(
            try await self.useCases.cancelOrder(user: user, order: try Validate.orderID(request.orderID))
        )
        return Commerce_V1_CancelOrderResponse.with {
            $0.order = .init(receipt.order)
            $0.refunded = receipt.refunded
            $0.balanceAfter = receipt.balanceAfter
        }
    }

    func getOrder(
        _ request: Commerce_V1_GetOrderRequest,
        caller: Caller,
        context: ServerContext
    ) async throws -> Commerce_V1_GetOrderResponse {
        let order = try await self.useCases.getOrder(try Validate.orderID(request.orderID), for: caller)
        return Commerce_V1_GetOrderResponse.with { $0.order = .init(order) }
    }

    func listOrders(
        _ request: Commerce_V1_ListOrdersRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_ListOrdersResponse {
        let page = try await self.useCases.listOrders(user: user, page: try request.page.query())
        return Commerce_V1_ListOrdersResponse.with {
            $0.orders = page.items.map(Commerce_V1_Order.init)
            $0.nextPageToken = page.nextPageToken
        }
    }

    static func reply(_ receipt: OrderReceipt) -> Commerce_V1_PlaceOrderResponse {
        Commerce_V1_PlaceOrderResponse.with {
            $0.order = .init(receipt.order)
            $0.balanceAfter = receipt.balanceAfter
            $0.replayed = receipt.replayed
        }
    }
}
