import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CouponService`.
public struct CouponService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.user("/commerce.v1.CouponService/IssueCoupon", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_IssueCouponRequest, user, _) in
                let coupon = try await self.useCases.issueCoupon(
                    user: user, campaign: try Validate.campaignID(request.campaignID))
                return Commerce_V1_IssueCouponResponse.with { $0.coupon = .init(coupon, now: self.useCases.clock()) }
            },
            self.guarded.user("/commerce.v1.CouponService/ListUserCoupons", user: { $0.userID }) {
                (_: Commerce_V1_ListUserCouponsRequest, user, _) in
                let coupons = try await self.useCases.listUserCoupons(user: user)
                let now = self.useCases.clock()
                return Commerce_V1_ListUserCouponsResponse.with { $0.coupons = coupons.map { .init($0, now: now) } }
            },
        ]
    }
}
