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
/// the campaign), so once the store answers `COUPON_SOLD_OUT` nothing about who holds one can
/// change: this process remembers the campaign and its holders, and answers later requests from
/// memory, with the refusals that come first in ``CouponIssuance`` (COUPON_ALREADY_ISSUED for a
/// holder, USER_NOT_FOUND for a stranger). Whether a non-holder exists is one point read, once per
/// user: users are never deleted, so a user seen once exists for good. A campaign of more than a
/// million coupons is not held in memory; each of its requests reads the two facts at one point.
public struct IssueCoupon: Sendable {
    let store: any CouponStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let soldOut: SoldOutCampaigns

    public func callAsFunction(user userID: UserID, campaign: CampaignID) async throws -> Coupon {
        if let known = self.soldOut.campaign(campaign) {
            // No write, but the same answer the store would give.
            let (exists, holds): (Bool, Bool)
            if let holders = known.holders {
                holds = holders.contains(userID)
                exists =
                    holds
                    ? true
                    : try await self.soldOut.userExists(userID) {
                        try await self.store.holderFacts(campaign: campaign, user: userID).userExists
                    }
            } else {
                (exists, holds) = try await self.store.holderFacts(campaign: campaign, user: userID)
            }
            try CouponIssuance.check(
                campaign,
                campaign: known.campaign,
                user: userID,
                userExists: exists,
                alreadyHolds: holds,
                at: self.clock()
            )
            throw CouponIssuance.soldOut(campaign)
        }
        let (store, clock, soldOut) = (self.store, self.clock, self.soldOut)
        do {
            return try await self.queues.write(user: userID) {
                store.issueCoupon(campaign: campaign, user: userID, at: clock())
            }
        } catch let error as CommerceError where error.reason == .couponSoldOut {
            // Read after the store saw it sold out: every issue's coupon row committed with its count.
            // Once is enough: the thousands of requests queued before the first sold-out answer
            // came back each get one too, and need not read the campaign and its holders again.
            if soldOut.campaign(campaign) == nil,
                let known = try? await store.issuanceFacts(campaign: campaign, user: userID).campaign
            {
                soldOut.insert(
                    known,
                    holders: try? await store.holders(of: campaign, limit: SoldOutCampaigns.maximumHolders)
                )
            }
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

/// Every campaign with how many of its coupons are issued, for operators.
public struct ListCouponCampaigns: Sendable {
    let store: any CouponStore

    public func callAsFunction(page: PageQuery) async throws -> Page<CouponCampaign> {
        try await self.store.campaigns(page: page)
    }
}

/// Campaigns this process has seen sold out, with what deciding a refusal needs of them: the
/// campaign (its window never changes) and its holders (frozen once sold out); and users known to
/// exist (never deleted). Bounded: at most ``maximumHolders`` holders per campaign and as many known users.
public final class SoldOutCampaigns: Sendable {
    public static let maximumHolders = 1_000_000
    struct Known: Sendable {
        let campaign: CouponCampaign
        /// `nil`: too many to keep.
        let holders: Set<UserID>?
    }

    private let campaigns = Mutex<[CampaignID: Known]>([:])
    private let users = Mutex<Set<UserID>>([])
    public init() {}

    func campaign(_ id: CampaignID) -> Known? { self.campaigns.withLock { $0[id] } }

    func insert(_ campaign: CouponCampaign, holders: Set<UserID>?) {
        self.campaigns.withLock { $0[campaign.id] = Known(campaign: campaign, holders: holders) }
    }

    /// Whether `user` exists: remembered once seen, else `lookUp`.
    func userExists(_ user: UserID, lookUp: () async throws -> Bool) async throws -> Bool {
        if self.users.withLock({ $0.contains(user) }) { return true }
        guard try await lookUp() else { return false }
        self.users.withLock { users in
            if users.count >= Self.maximumHolders { users.removeAll(keepingCapacity: true) }
            users.insert(user)
        }
        return true
    }
}
