/// How a campaign's coupons discount an order.
public enum Discount: Hashable, Sendable {
    /// `won` off.
    case fixed(won: Won)
    /// `percent` off, at most `cap` won (`nil`: no cap).
    case percent(Int64, cap: Won?)

    /// The discount on an order of `total` won; never more than the total.
    public func amount(on total: Won) -> Won {
        let raw: Won
        switch self {
        case .fixed(let won): raw = won
        case .percent(let percent, let cap):
            let off = total * percent / 100
            raw = cap.map { min(off, $0) } ?? off
        }
        return max(0, min(raw, total))
    }
}

public struct CouponCampaign: Hashable, Sendable {
    public var id: CampaignID
    public var name: String
    public var discount: Discount
    public var totalQuantity: Int64
    public var issued: Int64
    public var validFrom: UnixMillis
    public var validUntil: UnixMillis

    public init(
        id: CampaignID,
        name: String,
        discount: Discount,
        totalQuantity: Int64,
        issued: Int64,
        validFrom: UnixMillis,
        validUntil: UnixMillis
    ) {
        self.id = id
        self.name = name
        self.discount = discount
        self.totalQuantity = totalQuantity
        self.issued = issued
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    public func isOpen(at now: UnixMillis) -> Bool { now >= self.validFrom && now <= self.validUntil }
}

public enum CouponState: String, Hashable, Sendable {
    case available = "AVAILABLE"
    /// Held by an unpaid (PENDING_PAYMENT) order; AVAILABLE again when it is cancelled or expires.
    case reserved = "RESERVED"
    case used = "USED"
    case expired = "EXPIRED"
}

/// Which order, if any, holds a coupon, and whether that order is paid.
public enum CouponHold: Hashable, Sendable {
    case free
    /// By an order waiting for payment.
    case reserved(by: OrderID)
    /// By a paid order.
    case used(by: OrderID)

    /// The hold a coupon has when `order` (in `status`) holds it.
    public init(order: OrderID?, status: OrderStatus?) {
        guard let order else {
            self = .free
            return
        }
        self = status == .pendingPayment ? .reserved(by: order) : .used(by: order)
    }
}

public struct Coupon: Hashable, Sendable {
    public var id: CouponID
    public var userID: UserID
    public var campaign: CouponCampaign
    public var hold: CouponHold
    public var issuedAt: UnixMillis

    public init(id: CouponID, userID: UserID, campaign: CouponCampaign, hold: CouponHold, issuedAt: UnixMillis) {
        self.id = id
        self.userID = userID
        self.campaign = campaign
        self.hold = hold
        self.issuedAt = issuedAt
    }

    /// The order holding it, if any.
    public var orderID: OrderID? {
        switch self.hold {
        case .free: nil
        case .reserved(let order), .used(let order): order
        }
    }

    /// What a user sees at `now`.
    public func state(at now: UnixMillis) -> CouponState {
        switch self.hold {
        case .reserved: return .reserved
        case .used: return .used
        case .free: return now > self.campaign.validUntil ? .expired : .available
        }
    }

    /// Checks that `user` may use this coupon on an order at `now`: theirs, held by no order, and
    /// inside its campaign's window — refusals in that order.
    public func checkUsable(by user: UserID, at now: UnixMillis) throws(CommerceError) {
        guard self.userID == user else {
            throw CommerceError(
                .couponNotOwned,
                "coupon \(self.id) belongs to another user",
                details: ["coupon_id": "\(self.id)"]
            )
        }
        if let order = self.orderID {
            throw CommerceError(
                .couponAlreadyUsed,
                "coupon \(self.id) is held by order \(order)",
                details: ["coupon_id": "\(self.id)", "order_id": "\(order)"]
            )
        }
        guard now >= self.campaign.validFrom else {
            throw CommerceError(
                .couponNotYetValid,
                "coupon \(self.id) is valid from \(self.campaign.validFrom)",
                details: ["coupon_id": "\(self.id)"]
            )
        }
        guard now <= self.campaign.validUntil else {
            throw CommerceError(
                .couponExpired,
                "coupon \(self.id) expired at \(self.campaign.validUntil)",
                details: ["coupon_id": "\(self.id)"]
            )
        }
    }
}

/// Who may be issued a coupon of a campaign. When several refusals apply, the first of these wins:
/// CAMPAIGN_NOT_FOUND, CAMPAIGN_NOT_OPEN, USER_NOT_FOUND, COUPON_ALREADY_ISSUED, then COUPON_SOLD_OUT
/// (decided last, by the store's guarded count).
public enum CouponIssuance {
    public static func check(
        _ id: CampaignID,
        campaign: CouponCampaign?,
        user: UserID,
        userExists: Bool,
        alreadyHolds: Bool,
        at now: UnixMillis
    ) throws(CommerceError) {
        guard let campaign else {
            throw CommerceError(
                .campaignNotFound,
                "no coupon campaign with id \(id)",
                details: ["campaign_id": "\(id)"]
            )
        }
        guard campaign.isOpen(at: now) else {
            throw CommerceError(
                .campaignNotOpen,
                now < campaign.validFrom ? "campaign \(id) has not started" : "campaign \(id) has ended",
                details: ["campaign_id": "\(id)"]
            )
        }
        guard userExists else { throw CommerceError.userNotFound(user) }
        guard !alreadyHolds else {
            throw CommerceError(
                .couponAlreadyIssued,
                "user \(user) already has a coupon of campaign \(id)",
                details: ["campaign_id": "\(id)", "user_id": "\(user)"]
            )
        }
    }

    public static func soldOut(_ campaign: CampaignID) -> CommerceError {
        CommerceError(
            .couponSoldOut,
            "campaign \(campaign) has no coupons left",
            details: ["campaign_id": "\(campaign)"]
        )
    }
}

/// A new campaign, validated.
public struct NewCampaign: Hashable, Sendable {
    public var name: String
    public var discount: Discount
    public var totalQuantity: Int64
    public var validFrom: UnixMillis
    public var validUntil: UnixMillis

    public init(name: String, discount: Discount, totalQuantity: Int64, validFrom: UnixMillis, validUntil: UnixMillis) {
        self.name = name
        self.discount = discount
        self.totalQuantity = totalQuantity
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// `maxDiscount` caps a percent discount; `nil` leaves it uncapped.
    public static func validate(
        name rawName: String,
        fixed: Bool,
        amount: Int64,
        maxDiscount: Won?,
        quantity: Int64,
        validFrom: UnixMillis,
        validUntil: UnixMillis
    ) throws(CommerceError) -> NewCampaign {
        let name = try Validate.name(rawName, maxLength: 200)
        let discount: Discount
        if fixed {
            guard amount >= 1, amount <= 100_000_000 else {
                throw CommerceError(.invalidDiscount, "a fixed discount must be 1 to 100,000,000 won, got \(amount)")
            }
            discount = .fixed(won: amount)
        } else {
            guard amount >= 1, amount <= 100 else {
                throw CommerceError(.invalidDiscount, "a percent discount must be 1 to 100, got \(amount)")
            }
            if let maxDiscount, maxDiscount < 1 {
                throw CommerceError(.invalidDiscount, "max_discount must be 0 (no cap) or positive, got \(maxDiscount)")
            }
            discount = .percent(amount, cap: maxDiscount)
        }
        let quantity = try Validate.quantity(quantity, field: "total_quantity", max: 10_000_000)
        guard validFrom > 0, validUntil > validFrom else {
            throw CommerceError(.invalidWindow, "valid_from must be positive and before valid_until")
        }
        return NewCampaign(
            name: name,
            discount: discount,
            totalQuantity: quantity,
            validFrom: validFrom,
            validUntil: validUntil
        )
    }
}
