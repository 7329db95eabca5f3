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
/// the campaign), so once the store answers `COUPON_SOLD_OUT` this process remembers the campaign
/// and answers later requests without a database write: one point read tells whether the user
/// exists and already holds one, for the refusals that come first.
public struct IssueCoupon: Sendable {
    let store: any CouponStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let soldOut: SoldOutCampaigns

    public func callAsFunction(user userID: UserID, campaign: CampaignID) async throws -> Coupon {
        if let known = self.soldOut.campaign(campaign) {
            // No write, but the same answer the store would give: a refusal that comes first in
            // ``CouponIssuance`` (a user who already holds one gets COUPON_ALREADY_ISSUED) wins.
            let facts = try await self.store.holderFacts(campaign: campaign, user: userID)
            try CouponIssuance.check(campaign, campaign: known, user: userID, userExists: facts.userExists,
                                     alreadyHolds: facts.alreadyHolds, at: self.clock())
            throw CouponIssuance.soldOut(campaign)
        }
        let (store, clock, soldOut) = (self.store, self.clock, self.soldOut)
        do {
            return try await self.queues.write(user: userID) { store.issueCoupon(campaign: campaign, user: userID, at: clock()) }
        } catch let error as CommerceError where error.reason == .couponSoldOut {
            if let known = try? await store.issuanceFacts(campaign: campaign, user: userID).campaign { soldOut.insert(known) }
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

/// Campaigns this process has seen sold out, with what deciding a refusal needs of them (their
/// window; it never changes).
public final class SoldOutCampaigns: Sendable {
    private let campaigns = Mutex<[CampaignID: CouponCampaign]>([:])
    public init() {}
    func campaign(_ id: CampaignID) -> CouponCampaign? { self.campaigns.withLock { $0[id] } }
    func insert(_ campaign: CouponCampaign) { self.campaigns.withLock { $0[campaign.id] = campaign } }
}
