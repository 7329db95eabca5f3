import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: CouponStore {
    public func createCampaign(_ campaign: NewCampaign, at: UnixMillis) -> PendingWrite<CouponCampaign> {
        self.transaction { db in
            let (kind, amount, cap): (String, Int64, Int64) =
                switch campaign.discount {
                case .fixed(let won): ("FIXED", won, 0)
                case .percent(let percent, let cap): ("PERCENT", percent, cap ?? 0)
                }
            try db.run(
                """
                INSERT INTO coupon_campaigns (name, kind, amount, max_discount, total_quantity, valid_from, valid_until, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                arguments: [
                    campaign.name, kind, amount, cap, campaign.totalQuantity, campaign.validFrom, campaign.validUntil,
                    at,
                ]
            )
            return CouponCampaign(
                id: CampaignID(db.lastInsertedRowID),
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
        self.transaction { db in
            let facts = try Self.issuanceFacts(db, campaign: id, user: user)
            try CouponIssuance.check(
                id,
                campaign: facts.campaign,
                user: user,
                userExists: facts.userExists,
                alreadyHolds: facts.alreadyHolds,
                at: at
            )
            // The count and its limit in one statement: never beyond the quantity, whoever races.
            // (The count is read back, not RETURNed: see ``pay(_:_:at:)``.)
            try db.execute(
                direct: "UPDATE coupon_campaigns SET issued = issued + 1 WHERE id = ? AND issued < total_quantity",
                id.rawValue
            )
            guard db.changesCount == 1,
                let issued = try db.fetchFirst(
                    direct: "SELECT issued FROM coupon_campaigns WHERE id = ?",
                    id.rawValue,
                    read: { $0.int64(0) }
                )
            else {
                throw CouponIssuance.soldOut(id)
            }
            // One coupon per user and campaign: the unique index is the guard across processes.
            try db.run(
                "INSERT INTO coupons (campaign_id, user_id, status, issued_at) VALUES (?, ?, 'AVAILABLE', ?)",
                arguments: [id.rawValue, user.rawValue, at]
            )
            var snapshot = facts.campaign!
            snapshot.issued = issued
            return Coupon(
                id: CouponID(db.lastInsertedRowID),
                userID: user,
                campaign: snapshot,
                hold: .free,
                issuedAt: at
            )
        }
    }

    public func issuanceFacts(campaign: CampaignID, user: UserID) async throws -> CouponIssuanceFacts {
        try await self.read { db in try Self.issuanceFacts(db, campaign: campaign, user: user) }
    }

    /// One statement, two index probes, on the caller's thread (no transaction, no queue hop).
    public func holderFacts(campaign: CampaignID, user: UserID) async throws -> (userExists: Bool, alreadyHolds: Bool) {
        try self.lookUp { db in
            try db.fetchFirst(
                direct: """
                    SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1), EXISTS (SELECT 1 FROM coupons WHERE campaign_id = ?2 AND user_id = ?1)
                    """,
                user.rawValue,
                campaign.rawValue
            ) { ($0.int64(0) == 1, $0.int64(1) == 1) } ?? (false, false)
        }
    }

    public func holders(of campaign: CampaignID, limit: Int) async throws -> Set<UserID>? {
        try await self.read { db in
            var holders = Set<UserID>()
            try db.forEachRow(
                direct: "SELECT user_id FROM coupons WHERE campaign_id = ? LIMIT ?",
                campaign.rawValue,
                Int64(limit) + 1
            ) { row in
                holders.insert(UserID(row.int64(0)))
            }
            return holders.count > limit ? nil : holders
        }
    }

    static func issuanceFacts(_ db: Database, campaign id: CampaignID, user: UserID) throws -> CouponIssuanceFacts {
        let campaign = try Self.loadCampaign(db, id)
        let userExists = try Self.userExists(db, user)
        let holds =
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM coupons WHERE campaign_id = ? AND user_id = ?"),
                arguments: [id.rawValue, user.rawValue]
            ) != nil
        return CouponIssuanceFacts(campaign: campaign, userExists: userExists, alreadyHolds: holds)
    }

    public func coupons(of user: UserID) async throws -> [Coupon]? {
        try await self.read { db in
            guard try Self.userExists(db, user) else { return nil }
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM coupons WHERE user_id = ? ORDER BY id"),
                arguments: [user.rawValue]
            )
            .compactMap { try Self.loadCoupon(db, CouponID($0["id"])) }
        }
    }

    /// The coupon, if `user` may use it now; otherwise the domain's reason why not.
    static func usableCoupon(_ db: Database, _ id: CouponID, user: UserID, at: UnixMillis) throws -> Coupon {
        guard let coupon = try loadCoupon(db, id) else {
            throw CommerceError(.couponNotFound, "no coupon with id \(id)", details: ["coupon_id": "\(id)"])
        }
        try coupon.checkUsable(by: user, at: at)
        return coupon
    }

    /// The coupon with its hold: the order that holds it and that order's status (reserved while
    /// the order awaits payment, used once paid).
    static func loadCoupon(_ db: Database, _ id: CouponID) throws -> Coupon? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT c.campaign_id, c.user_id, c.order_id, c.issued_at, o.status AS order_status
                        FROM coupons c LEFT JOIN orders o ON o.id = c.order_id WHERE c.id = ?
                        """
                ),
                arguments: [id.rawValue]
            ),
            let campaign = try loadCampaign(db, CampaignID(row["campaign_id"]))
        else { return nil }
        let order = (row["order_id"] as Int64?).map { OrderID($0) }
        let status = try (row["order_status"] as String?).map { try OrderStatus(stored: $0) }
        return Coupon(
            id: id,
            userID: UserID(row["user_id"]),
            campaign: campaign,
            hold: CouponHold(order: order, status: status),
            issuedAt: row["issued_at"]
        )
    }

    public func campaigns(page: PageQuery) async throws -> Page<CouponCampaign> {
        try await self.read { db in
            let ids = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT id FROM coupon_campaigns WHERE id < ? ORDER BY id DESC LIMIT ?"),
                arguments: [page.after ?? Int64.max, page.size + 1]
            )
            let campaigns = try ids.prefix(page.size).compactMap { try Self.loadCampaign(db, CampaignID($0)) }
            return Page(
                items: campaigns,
                nextAfter: ids.count > page.size ? campaigns.last.map { $0.id.rawValue } : nil
            )
        }
    }

    static func loadCampaign(_ db: Database, _ id: CampaignID) throws -> CouponCampaign? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, name, kind, amount, max_discount, total_quantity, issued, valid_from, valid_until FROM coupon_campaigns WHERE id = ?
                    """
            ),
            arguments: [id.rawValue]
        ).map { row in
            let amount: Int64 = row["amount"]
            let cap: Int64 = row["max_discount"]
            let discount: Discount =
                (row["kind"] as String) == "FIXED" ? .fixed(won: amount) : .percent(amount, cap: cap == 0 ? nil : cap)
            return CouponCampaign(
                id: id,
                name: row["name"],
                discount: discount,
                totalQuantity: row["total_quantity"],
                issued: row["issued"],
                validFrom: row["valid_from"],
                validUntil: row["valid_until"]
            )
        }
    }
}
