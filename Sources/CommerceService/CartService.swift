import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CartService`.
public struct CartService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.CartService/AddItem", mutating: true) { (request: Commerce_V1_AddCartItemRequest, _) in
                Self.reply(try await self.useCases.changeCart(
                    user: try Validate.userID(request.userID), try .adding(try Validate.productID(request.productID), quantity: request.quantity)))
            },
            .unary("/commerce.v1.CartService/RemoveItem", mutating: true) { (request: Commerce_V1_RemoveCartItemRequest, _) in
                Self.reply(try await self.useCases.changeCart(user: try Validate.userID(request.userID), .remove(try Validate.productID(request.productID))))
            },
            .unary("/commerce.v1.CartService/UpdateQuantity", mutating: true) { (request: Commerce_V1_UpdateCartItemRequest, _) in
                Self.reply(try await self.useCases.changeCart(
                    user: try Validate.userID(request.userID), try .setting(try Validate.productID(request.productID), quantity: request.quantity)))
            },
            .unary("/commerce.v1.CartService/GetCart") { (request: Commerce_V1_GetCartRequest, _) in
                Self.reply(try await self.useCases.getCart(user: try Validate.userID(request.userID)))
            },
            .unary("/commerce.v1.CartService/CheckoutCart", mutating: true) { (request: Commerce_V1_CheckoutCartRequest, context) in
                let user = try Validate.userID(request.userID)
                let coupon = try Wire.optionalCoupon(request.couponID)
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                return OrderService.reply(try await self.useCases.checkoutCart(user: user, coupon: coupon, idempotencyKey: key))
            },
        ]
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
