import CommerceDomain
import CommerceProto
import FrameRPC

// Protobuf -> typed commands, at the edge only. proto3 has no "absent" for scalars, so the wire
// says "none" or "the default" with 0 or an empty string; those conventions end here, and the use
// cases see only ids, quantities, optionals and pages already checked by the domain's rules.

enum Wire {
    /// 0 means no coupon.
    static func optionalCoupon(_ raw: Int64) throws(CommerceError) -> CouponID? {
        guard raw >= 0 else {
            throw CommerceError(.invalidCouponID, "coupon_id must be 0 (none) or a coupon id, got \(raw)")
        }
        return raw == 0 ? nil : CouponID(raw)
    }

    /// The key may come in the request or in `idempotency-key` metadata; if both, they must agree.
    /// Empty in both means none.
    static func idempotencyKey(field: String, metadata: Metadata) throws(CommerceError) -> String? {
        let header = metadata[MetadataKey.idempotencyKey] ?? ""
        if !field.isEmpty && !header.isEmpty && field != header {
            throw CommerceError(
                .invalidIdempotencyKey,
                "idempotency_key in the request and idempotency-key metadata differ"
            )
        }
        let key = field.isEmpty ? header : field
        return key.isEmpty ? nil : try Validate.idempotencyKey(key)
    }
}

extension Commerce_V1_PageRequest {
    /// page_size 0 means the default; an empty token, the first page.
    func query() throws(CommerceError) -> PageQuery {
        guard self.pageSize >= 0, Int(self.pageSize) <= PageQuery.maximumSize else {
            throw CommerceError(
                .invalidPageSize,
                "page_size must be between 0 and \(PageQuery.maximumSize), got \(self.pageSize)"
            )
        }
        return try PageQuery.validate(
            size: self.pageSize == 0 ? PageQuery.defaultSize : Int(self.pageSize),
            after: try PageToken.after(self.pageToken)
        )
    }
}

extension Page {
    /// The reply's `next_page_token`: empty on the last page.
    var nextPageToken: String { PageToken.token(after: self.nextAfter) }
}

extension Commerce_V1_PlaceOrderRequest {
    func orderRequest() throws(CommerceError) -> OrderRequest {
        let user = try Validate.userID(self.userID)
        var items: [(productID: ProductID, quantity: Int64)] = []
        for item in self.items { items.append((try Validate.productID(item.productID), item.quantity)) }
        return try OrderRequest.validate(userID: user, items: items, couponID: try Wire.optionalCoupon(self.couponID))
    }
}

extension Commerce_V1_TopProductsRequest {
    /// days and limit 0 mean the defaults; an unspecified rank or window, units and rolling.
    func query() throws(CommerceError) -> RankingQuery {
        let rankBy: RankBy
        switch self.rankBy {
        case .unspecified, .units: rankBy = .units
        case .orders: rankBy = .orders
        case .UNRECOGNIZED(let value):
            throw CommerceError(.invalidRankBy, "rank_by must be RANK_BY_UNITS or RANK_BY_ORDERS, got \(value)")
        }
        let window: RankingWindow
        switch self.window {
        case .unspecified, .rolling: window = .rolling
        case .completedDays: window = .completedDays
        case .UNRECOGNIZED(let value):
            throw CommerceError(
                .invalidRankingWindow,
                "window must be RANKING_WINDOW_ROLLING or RANKING_WINDOW_COMPLETED_DAYS, got \(value)"
            )
        }
        guard self.days >= 0, self.limit >= 0 else {
            throw CommerceError(
                .invalidRankingWindow,
                "days must be 0 to \(RankingQuery.maximumDays) and limit 0 to \(RankingQuery.maximumLimit) (0 = default), got \(self.days) and \(self.limit)"
            )
        }
        return try RankingQuery.validate(
            days: self.days == 0 ? RankingQuery.defaultDays : Int(self.days),
            limit: self.limit == 0 ? RankingQuery.defaultLimit : Int(self.limit),
            rankBy: rankBy,
            window: window
        )
    }
}
