public struct CampaignID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(self.rawValue)" }
}

public struct CouponID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(self.rawValue)" }
}

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

    public init(id: CampaignID, name: String, discount: Discount, totalQuantity: Int64, issued: Int64,
                validFrom: UnixMillis, validUntil: UnixMillis) {
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
    case used = "USED"
    case expired = "EXPIRED"
}

public struct Coupon: Hashable, Sendable {
    public var id: CouponID
    public var userID: UserID
    public var campaign: CouponCampaign
    /// As stored: AVAILABLE or USED. See ``state(at:)`` for what a user sees.
    public var used: Bool
    public var orderID: OrderID?
    public var issuedAt: UnixMillis

    public init(id: CouponID, userID: UserID, campaign: CouponCampaign, used: Bool, orderID: OrderID?, issuedAt: UnixMillis) {
        self.id = id
        self.userID = userID
        self.campaign = campaign
        self.used = used
        self.orderID = orderID
        self.issuedAt = issuedAt
    }

    public func state(at now: UnixMillis) -> CouponState {
        if self.used { return .used }
        return now > self.campaign.validUntil ? .expired : .available
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

    public static func validate(name rawName: String, fixed: Bool, amount: Int64, maxDiscount: Int64, quantity: Int64,
                                validFrom: UnixMillis, validUntil: UnixMillis) throws(CommerceError) -> NewCampaign {
        let name = try Validate.name(rawName, maxLength: 200)
        let discount: Discount
        if fixed {
            guard amount >= 1, amount <= 100_000_000 else {
                throw CommerceError(.invalidArgument, .invalidDiscount, "a fixed discount must be 1 to 100,000,000 won, got \(amount)")
            }
            discount = .fixed(won: amount)
        } else {
            guard amount >= 1, amount <= 100 else {
                throw CommerceError(.invalidArgument, .invalidDiscount, "a percent discount must be 1 to 100, got \(amount)")
            }
            guard maxDiscount >= 0 else {
                throw CommerceError(.invalidArgument, .invalidDiscount, "max_discount must be 0 (no cap) or positive, got \(maxDiscount)")
            }
            discount = .percent(amount, cap: maxDiscount == 0 ? nil : maxDiscount)
        }
        let quantity = try Validate.quantity(quantity, field: "total_quantity", max: 10_000_000)
        guard validFrom > 0, validUntil > validFrom else {
            throw CommerceError(.invalidArgument, .invalidWindow, "valid_from must be positive and before valid_until")
        }
        return NewCampaign(name: name, discount: discount, totalQuantity: quantity, validFrom: validFrom, validUntil: validUntil)
    }
}
