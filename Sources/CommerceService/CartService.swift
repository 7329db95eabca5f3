import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CartService`.
public struct CartService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.user("/commerce.v1.CartService/AddItem", mutating: true, user: { $0.userID }) { (request: Commerce_V1_AddCartItemRequest, user, _) in
                Self.reply(try await self.useCases.changeCart(
                    user: user, try .adding(try Validate.productID(request.productID), quantity: request.quantity)))
            },
            self.guarded.user("/commerce.v1.CartService/RemoveItem", mutating: true, user: { $0.userID }) { (request: Commerce_V1_RemoveCartItemRequest, user, _) in
                Self.reply(try await self.useCases.changeCart(user: user, .remove(try Validate.productID(request.productID))))
            },
            self.guarded.user("/commerce.v1.CartService/UpdateQuantity", mutating: true, user: { $0.userID }) { (request: Commerce_V1_UpdateCartItemRequest, user, _) in
                Self.reply(try await self.useCases.changeCart(
                    user: user, try .setting(try Validate.productID(request.productID), quantity: request.quantity)))
            },
            self.guarded.user("/commerce.v1.CartService/GetCart", user: { $0.userID }) { (request: Commerce_V1_GetCartRequest, user, _) in
                Self.reply(try await self.useCases.getCart(user: user))
            },
            self.guarded.user("/commerce.v1.CartService/CheckoutCart", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_CheckoutCartRequest, user, context) in
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
