import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: CouponStore {
    public func createCampaign(_ campaign: NewCampaign, at: UnixMillis) -> PendingWrite<CouponCampaign> {
        self.transaction { session in
            let (kind, amount, cap): (String, Int64, Int64) =
                switch campaign.discount {
                case .fixed(let won): ("FIXED", won, 0)
                case .percent(let percent, let cap): ("PERCENT", percent, cap ?? 0)
                }
            let id = try await session.write(
                """
                INSERT INTO coupon_campaigns (name, kind, amount, max_discount, total_quantity, valid_from, valid_until, created_at)
                VALUES (\(campaign.name), \(kind), \(amount), \(cap), \(campaign.totalQuantity), \(campaign.validFrom), \(campaign.validUntil), \(at))
                RETURNING id
                """,
                returning: Int64.self
            )[0]
            return CouponCampaign(
                id: CampaignID(id),
                name: campaign.name,
                discount: campaign.discount,
                totalQuantity: campaign.totalQuantity,
                issued: 0,
                validFrom: campaign.validFrom,
                validUntil: campaign.validUntil
            )
        }
    }

    public func issueCoupon(campaign id: CampaignID, user: UserID, at: UnixMillis) -> PendingWrite<Coupon> {
        self.transaction(key: user.rawValue) { session in
            let facts = try await Self.issuanceFacts(session, campaign: id, user: user)
            try CouponIssuance.check(
                id,
                campaign: facts.campaign,
                user: user,
                userExists: facts.userExists,
                alreadyHolds: facts.alreadyHolds,
                at: at
            )
            // The count and its limit in one statement, on the row's latest version: never beyond
            // the quantity, whichever instance races.
            guard
                let issued = try await session.write(
                    """
                    UPDATE coupon_campaigns SET issued = issued + 1 WHERE id = \(id.rawValue) AND issued < total_quantity RETURNING issued
                    """,
                    returning: Int64.self
                ).first
            else {
                throw CouponIssuance.soldOut(id)
            }
            // One coupon per user and campaign: the unique constraint is the guard across instances.
            let couponID: Int64
            do {
                couponID = try await session.write(
                    """
                    INSERT INTO coupons (campaign_id, user_id, status, issued_at) VALUES (\(id.rawValue), \(user.rawValue), 'AVAILABLE', \(at)) RETURNING id
                    """,
                    returning: Int64.self
                )[0]
            } catch  where PostgresErrors.isUniqueViolation(error, of: "coupons_one_per_user") {
                throw CommerceError(
                    .couponAlreadyIssued,
                    "user \(user) already holds a coupon of campaign \(id)",
                    details: ["campaign_id": "\(id)", "user_id": "\(user)"]
                )
            }
            var snapshot = facts.campaign!
            snapshot.issued = issued
            return Coupon(id: CouponID(couponID), userID: user, campaign: snapshot, hold: .free, issuedAt: at)
        }
    }

    public func issuanceFacts(campaign: CampaignID, user: UserID) async throws -> CouponIssuanceFacts {
        // One statement: a snapshot by itself, no transaction around it.
        try await self.withSession { session in try await Self.issuanceFacts(session, campaign: campaign, user: user) }
    }

    public func holderFacts(campaign: CampaignID, user: UserID) async throws -> (userExists: Bool, alreadyHolds: Bool) {
        try await self.withSession { session in
            try await session.first(
                """
                SELECT EXISTS (SELECT 1 FROM users WHERE id = \(user.rawValue)),
                       EXISTS (SELECT 1 FROM coupons WHERE campaign_id = \(campaign.rawValue) AND user_id = \(user.rawValue))
                """,
                as: (Bool, Bool).self
            ).map { (userExists: $0.0, alreadyHolds: $0.1) } ?? (false, false)
        }
    }

    public func holders(of campaign: CampaignID, limit: Int) async throws -> Set<UserID>? {
        try await self.withSession { session in
            let users = try await session.all(
                "SELECT user_id FROM coupons WHERE campaign_id = \(campaign.rawValue) LIMIT \(Int64(limit) + 1)",
                as: Int64.self
            )
            return users.count > limit ? nil : Set(users.map { UserID($0) })
        }
    }

    /// The campaign, whether the user exists and whether they hold one: one statement, one round trip.
    static func issuanceFacts(
        _ session: Session,
        campaign id: CampaignID,
        user: UserID
    ) async throws -> CouponIssuanceFacts {
        let row = try await session.first(
            """
            SELECT c.name, c.kind, c.amount, c.max_discount, c.total_quantity, c.issued, c.valid_from, c.valid_until,
                   EXISTS (SELECT 1 FROM users WHERE id = \(user.rawValue)),
                   EXISTS (SELECT 1 FROM coupons WHERE campaign_id = \(id.rawValue) AND user_id = \(user.rawValue))
            FROM (SELECT 1) AS one LEFT JOIN coupon_campaigns c ON c.id = \(id.rawValue)
            """,
            as: (String?, String?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Bool, Bool).self
        )!
        var campaign: CouponCampaign?
        if let name = row.0, let kind = row.1, let amount = row.2, let cap = row.3, let quantity = row.4,
            let issued = row.5,
            let validFrom = row.6, let validUntil = row.7
        {
            campaign = CouponCampaign(
                id: id,
                name: name,
                discount: Self.discount(kind: kind, amount: amount, cap: cap),
                totalQuantity: quantity,
                issued: issued,
                validFrom: validFrom,
                validUntil: validUntil
            )
        }
        return CouponIssuanceFacts(campaign: campaign, userExists: row.8, alreadyHolds: row.9)
    }

    static func discount(kind: String, amount: Int64, cap: Int64) -> Discount {
        kind == "FIXED" ? .fixed(won: amount) : .percent(amount, cap: cap == 0 ? nil : cap)
    }

    public func coupons(of user: UserID) async throws -> [Coupon]? {
        try await self.read { session in
            guard try await Self.userExists(session, user) else { return nil }
            var coupons: [Coupon] = []
            for id in try await session.all(
                "SELECT id FROM coupons WHERE user_id = \(user.rawValue) ORDER BY id",
                as: Int64.self
            ) {
                if let coupon = try await Self.loadCoupon(session, CouponID(id)) { coupons.append(coupon) }
            }
            return coupons
        }
    }

    /// The coupon, if `user` may use it now; otherwise the domain's reason why not.
    static func usableCoupon(_ session: Session, _ id: CouponID, user: UserID, at: UnixMillis) async throws -> Coupon {
        guard let coupon = try await Self.loadCoupon(session, id) else {
            throw CommerceError(.couponNotFound, "no coupon with id \(id)", details: ["coupon_id": "\(id)"])
        }
        try coupon.checkUsable(by: user, at: at)
        return coupon
    }

    /// The coupon with its hold: the order that holds it and that order's status.
    static func loadCoupon(_ session: Session, _ id: CouponID) async throws -> Coupon? {
        guard
            let row = try await session.first(
                """
                SELECT c.campaign_id, c.user_id, c.order_id, c.issued_at, o.status
                FROM coupons c LEFT JOIN orders o ON o.id = c.order_id WHERE c.id = \(id.rawValue)
                """,
                as: (Int64, Int64, Int64?, Int64, String?).self
            ),
            let campaign = try await Self.loadCampaign(session, CampaignID(row.0))
        else { return nil }
        let status = try row.4.map { try OrderStatus(stored: $0) }
        return Coupon(
            id: id,
            userID: UserID(row.1),
            campaign: campaign,
            hold: CouponHold(order: row.2.map { OrderID($0) }, status: status),
            issuedAt: row.3
        )
    }

    public func campaigns(page: PageQuery) async throws -> Page<CouponCampaign> {
        try await self.read { session in
            let ids = try await session.all(
                """
                SELECT id FROM coupon_campaigns WHERE id < \(page.after ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(page.size + 1))
                """,
                as: Int64.self
            )
            var campaigns: [CouponCampaign] = []
            for id in ids.prefix(page.size) {
                if let campaign = try await Self.loadCampaign(session, CampaignID(id)) { campaigns.append(campaign) }
            }
            return Page(items: campaigns, nextAfter: ids.count > page.size ? campaigns.last?.id.rawValue : nil)
        }
    }

    static func loadCampaign(_ session: Session, _ id: CampaignID) async throws -> CouponCampaign? {
        try await session.first(
            """
            SELECT name, kind, amount, max_discount, total_quantity, issued, valid_from, valid_until FROM coupon_campaigns WHERE id = \(id.rawValue)
            """,
            as: (String, String, Int64, Int64, Int64, Int64, Int64, Int64).self
        ).map { row in
            CouponCampaign(
                id: id,
                name: row.0,
                discount: Self.discount(kind: row.1, amount: row.2, cap: row.3),
                totalQuantity: row.4,
                issued: row.5,
                validFrom: row.6,
                validUntil: row.7
            )
        }
    }
}
