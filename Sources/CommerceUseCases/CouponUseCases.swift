import CommerceDomain
import Synchronization

public struct CreateCouponCampaign: Sendable {
    let store: any CouponStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(_ campaign: NewCampaign) async throws -> CouponCampaign {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.writeNew { store.createCampaign(campaign, at: clock()) }
    }
}

/// First come, first served. Runs on the user's write queue; the campaign's count is arbitrated by
/// the store's guarded statement, so instances sharing a database never issue beyond the quantity.
///
/// A campaign's quantity never grows back (a cancelled order returns the coupon to its owner, not to
/// the campaign), so once the store answers `COUPON_SOLD_OUT` this process remembers it and answers
/// later requests at once, without a database write.
public struct IssueCoupon: Sendable {
    let store: any CouponStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let soldOut: SoldOutCampaigns

    public func callAsFunction(user userID: UserID, campaign: CampaignID) async throws -> Coupon {
        if self.soldOut.contains(campaign) {
            // No write, but the same answer the store would give: a refusal that comes first in
            // ``CouponIssuance`` (a user who already holds one gets COUPON_ALREADY_ISSUED) wins.
            let facts = try await self.store.issuanceFacts(campaign: campaign, user: userID)
            try CouponIssuance.check(campaign, campaign: facts.campaign, user: userID, userExists: facts.userExists,
                                     alreadyHolds: facts.alreadyHolds, at: self.clock())
            throw CouponIssuance.soldOut(campaign)
        }
        let (store, clock, soldOut) = (self.store, self.clock, self.soldOut)
        do {
            return try await self.queues.write(user: userID) { store.issueCoupon(campaign: campaign, user: userID, at: clock()) }
        } catch let error as CommerceError where error.reason == .couponSoldOut {
            soldOut.insert(campaign)
            throw error
        }
    }
}

public struct ListUserCoupons: Sendable {
    let store: any CouponStore

    public func callAsFunction(user: UserID) async throws -> [Coupon] {
        guard let coupons = try await self.store.coupons(of: user) else { throw CommerceError.userNotFound(user) }
        return coupons
    }
}

/// Campaigns this process has seen sold out.
public final class SoldOutCampaigns: Sendable {
    private let campaigns = Mutex<Set<CampaignID>>([])
    public init() {}
    func contains(_ campaign: CampaignID) -> Bool { self.campaigns.withLock { $0.contains(campaign) } }
    func insert(_ campaign: CampaignID) { _ = self.campaigns.withLock { $0.insert(campaign) } }
}
