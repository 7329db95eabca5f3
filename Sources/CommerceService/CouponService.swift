import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CouponService`.
public struct CouponService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.CouponService/IssueCoupon", mutating: true) { (request: Commerce_V1_IssueCouponRequest, _) in
                let coupon = try await self.useCases.issueCoupon(
                    user: try Validate.userID(request.userID), campaign: try Validate.campaignID(request.campaignID))
                return Commerce_V1_IssueCouponResponse.with { $0.coupon = .init(coupon, now: self.useCases.clock()) }
            },
            .unary("/commerce.v1.CouponService/ListUserCoupons") { (request: Commerce_V1_ListUserCouponsRequest, _) in
                let coupons = try await self.useCases.listUserCoupons(user: try Validate.userID(request.userID))
                let now = self.useCases.clock()
                return Commerce_V1_ListUserCouponsResponse.with { $0.coupons = coupons.map { .init($0, now: now) } }
            },
        ]
    }
}
