import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.OrderService`.
public struct OrderService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.user("/commerce.v1.OrderService/PlaceOrder", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_PlaceOrderRequest, _, context) in
                let order = try request.orderRequest()
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                return Self.reply(try await self.useCases.placeOrder(order, idempotencyKey: key))
            },
            self.guarded.user("/commerce.v1.OrderService/CreateOrder", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_PlaceOrderRequest, _, context) in
                let order = try request.orderRequest()
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                return Self.reply(try await self.useCases.createOrder(order, idempotencyKey: key))
            },
            self.guarded.user("/commerce.v1.OrderService/PayOrder", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_PayOrderRequest, user, _) in
                Self.reply(try await self.useCases.payOrder(user: user, order: try Validate.orderID(request.orderID)))
            },
            self.guarded.user("/commerce.v1.OrderService/CancelOrder", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_CancelOrderRequest, user, _) in
                let receipt = try await self.useCases.cancelOrder(user: user, order: try Validate.orderID(request.orderID))
                return Commerce_V1_CancelOrderResponse.with {
                    $0.order = .init(receipt.order)
                    $0.refunded = receipt.refunded
                    $0.balanceAfter = receipt.balanceAfter
                }
            },
            self.guarded.owned("/commerce.v1.OrderService/GetOrder") { (request: Commerce_V1_GetOrderRequest, caller, _) in
                let order = try await self.useCases.getOrder(try Validate.orderID(request.orderID), for: caller)
                return Commerce_V1_GetOrderResponse.with { $0.order = .init(order) }
            },
            self.guarded.user("/commerce.v1.OrderService/ListOrders", user: { $0.userID }) { (request: Commerce_V1_ListOrdersRequest, user, _) in
                let page = try await self.useCases.listOrders(user: user, page: try request.page.query())
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
