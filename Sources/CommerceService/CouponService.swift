import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.CouponService`.
public struct CouponService: RPCService, Commerce_V1_CouponServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func issueCoupon(
        _ request: Commerce_V1_IssueCouponRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_IssueCouponResponse {
        let coupon = try await ShopMetrics.issuing {
            try await self.useCases.issueCoupon(user: user, campaign: try Validate.campaignID(request.campaignID))
        }
        return Commerce_V1_IssueCouponResponse.with { $0.coupon = .init(coupon, now: self.useCases.clock()) }
    }

    func listUserCoupons(
        _ request: Commerce_V1_ListUserCouponsRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_ListUserCouponsResponse {
        let coupons = try await self.useCases.listUserCoupons(user: user)
        let now = self.useCases.clock()
        return Commerce_V1_ListUserCouponsResponse.with { $0.coupons = coupons.map { .init($0, now: now) } }
    }
}
