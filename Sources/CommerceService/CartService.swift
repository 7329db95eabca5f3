import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CartService`.
public struct CartService: RPCService, Commerce_V1_CartServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func addItem(
        _ request: Commerce_V1_AddCartItemRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_CartResponse {
        Self.reply(
            try await ShopMetrics.countingStock {
                try await self.useCases.changeCart(
                    user: user,
                    try .adding(try Validate.productID(request.productID), quantity: request.quantity)
                )
            }
        )
    }

    func removeItem(
        _ request: Commerce_V1_RemoveCartItemRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_CartResponse {
        Self.reply(try await self.useCases.changeCart(user: user, .remove(try Validate.productID(request.productID))))
    }

    func updateQuantity(
        _ request: Commerce_V1_UpdateCartItemRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_CartResponse {
        Self.reply(
            try await ShopMetrics.countingStock {
                try await self.useCases.changeCart(
                    user: user,
                    try .setting(try Validate.productID(request.productID), quantity: request.quantity)
                )
            }
        )
    }

    func getCart(
        _ request: Commerce_V1_GetCartRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_CartResponse {
        Self.reply(try await self.useCases.getCart(user: user))
    }

    func checkoutCart(
        _ request: Commerce_V1_CheckoutCartRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_PlaceOrderResponse {
        let coupon = try Wire.optionalCoupon(request.couponID)
        let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
        return OrderService.reply(
            ShopMetrics.paid(
                try await ShopMetrics.countingStock {
                    try await self.useCases.checkoutCart(user: user, coupon: coupon, idempotencyKey: key)
                }
            )
        )
    }

    static func reply(_ cart: Cart) -> Commerce_V1_CartResponse {
        Commerce_V1_CartResponse.with {
            $0.cart = Commerce_V1_Cart.with { proto in
                proto.userID = cart.userID.rawValue
                proto.lines = cart.lines.map { line in
                    Commerce_V1_CartLine.with {
                        $0.productID = line.productID.rawValue
                        $0.productName = line.productName
                        $0.unitPrice = line.unitPrice
                        $0.quantity = line.quantity
                        $0.lineTotal = line.total
                        $0.stock = line.stock
                        $0.available = line.available
                    }
                }
                proto.total = cart.total
                proto.allAvailable = cart.allAvailable
            }
        }
    }
}
