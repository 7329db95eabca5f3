import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.OrderService`.
public struct OrderService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.OrderService/PlaceOrder", mutating: true) { (request: Commerce_V1_PlaceOrderRequest, context) in
                let order = try request.orderRequest()
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                return Self.reply(try await self.useCases.placeOrder(order, idempotencyKey: key))
            },
            .unary("/commerce.v1.OrderService/CreateOrder", mutating: true) { (request: Commerce_V1_PlaceOrderRequest, context) in
                let order = try request.orderRequest()
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                return Self.reply(try await self.useCases.createOrder(order, idempotencyKey: key))
            },
            .unary("/commerce.v1.OrderService/PayOrder", mutating: true) { (request: Commerce_V1_PayOrderRequest, _) in
                Self.reply(try await self.useCases.payOrder(user: try Validate.userID(request.userID), order: try Validate.orderID(request.orderID)))
            },
            .unary("/commerce.v1.OrderService/CancelOrder", mutating: true) { (request: Commerce_V1_CancelOrderRequest, _) in
                let receipt = try await self.useCases.cancelOrder(user: try Validate.userID(request.userID), order: try Validate.orderID(request.orderID))
                return Commerce_V1_CancelOrderResponse.with {
                    $0.order = .init(receipt.order)
                    $0.refunded = receipt.refunded
                    $0.balanceAfter = receipt.balanceAfter
                }
            },
            .unary("/commerce.v1.OrderService/GetOrder") { (request: Commerce_V1_GetOrderRequest, _) in
                let order = try await self.useCases.getOrder(try Validate.orderID(request.orderID))
                return Commerce_V1_GetOrderResponse.with { $0.order = .init(order) }
            },
            .unary("/commerce.v1.OrderService/ListOrders") { (request: Commerce_V1_ListOrdersRequest, _) in
                let page = try await self.useCases.listOrders(user: try Validate.userID(request.userID), page: try request.page.query())
                return Commerce_V1_ListOrdersResponse.with {
                    $0.orders = page.items.map(Commerce_V1_Order.init)
                    $0.nextPageToken = page.nextPageToken
                }
            },
        ]
    }

    static func reply(_ receipt: OrderReceipt) -> Commerce_V1_PlaceOrderResponse {
        Commerce_V1_PlaceOrderResponse.with {
            $0.order = .init(receipt.order)
            $0.balanceAfter = receipt.balanceAfter
            $0.replayed = receipt.replayed
        }
    }
}
