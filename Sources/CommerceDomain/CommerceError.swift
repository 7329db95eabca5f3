/// A rule of the shop was broken. Carries a kind (how a transport should classify it), a stable
/// machine-readable reason, a message for people and optional details.
public struct CommerceError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case invalidArgument
        case notFound
        case alreadyExists
        case failedPrecondition
        case resourceExhausted
        case unauthenticated
        case permissionDenied
        case unavailable
    }

    public var kind: Kind
    public var reason: Reason
    public var message: String
    public var details: [String: String]

    public init(_ kind: Kind, _ reason: Reason, _ message: String, details: [String: String] = [:]) {
        self.kind = kind
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(self.reason.rawValue): \(self.message)" }
}

extension CommerceError {
    /// Stable, `UPPER_SNAKE_CASE`; clients switch on these.
    public struct Reason: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        // Users and balance
        public static let userNotFound = Reason(rawValue: "USER_NOT_FOUND")
        public static let invalidUserID = Reason(rawValue: "INVALID_USER_ID")
        public static let invalidName = Reason(rawValue: "INVALID_NAME")
        public static let invalidAmount = Reason(rawValue: "INVALID_AMOUNT")
        public static let chargeBelowMinimum = Reason(rawValue: "CHARGE_BELOW_MINIMUM")
        public static let balanceLimitExceeded = Reason(rawValue: "BALANCE_LIMIT_EXCEEDED")
        public static let insufficientBalance = Reason(rawValue: "INSUFFICIENT_BALANCE")
        public static let invalidIdempotencyKey = Reason(rawValue: "INVALID_IDEMPOTENCY_KEY")
        public static let idempotencyKeyReused = Reason(rawValue: "IDEMPOTENCY_KEY_REUSED")

        // Products
        public static let productNotFound = Reason(rawValue: "PRODUCT_NOT_FOUND")
        public static let invalidProductID = Reason(rawValue: "INVALID_PRODUCT_ID")
        public static let invalidPrice = Reason(rawValue: "INVALID_PRICE")
        public static let invalidQuantity = Reason(rawValue: "INVALID_QUANTITY")
        public static let stockLimitExceeded = Reason(rawValue: "STOCK_LIMIT_EXCEEDED")
        public static let outOfStock = Reason(rawValue: "OUT_OF_STOCK")

        // Orders
        public static let orderNotFound = Reason(rawValue: "ORDER_NOT_FOUND")
        public static let invalidOrderID = Reason(rawValue: "INVALID_ORDER_ID")
        public static let emptyOrder = Reason(rawValue: "EMPTY_ORDER")
        public static let tooManyLines = Reason(rawValue: "TOO_MANY_LINES")
        public static let orderNotOwned = Reason(rawValue: "ORDER_NOT_OWNED")
        public static let orderNotCancellable = Reason(rawValue: "ORDER_NOT_CANCELLABLE")
        public static let orderNotPayable = Reason(rawValue: "ORDER_NOT_PAYABLE")
        public static let orderExpired = Reason(rawValue: "ORDER_EXPIRED")

        // Coupons
        public static let invalidCouponID = Reason(rawValue: "INVALID_COUPON_ID")
        public static let invalidCampaignID = Reason(rawValue: "INVALID_CAMPAIGN_ID")
        public static let couponNotFound = Reason(rawValue: "COUPON_NOT_FOUND")
        public static let couponNotOwned = Reason(rawValue: "COUPON_NOT_OWNED")
        public static let couponAlreadyUsed = Reason(rawValue: "COUPON_ALREADY_USED")
        public static let couponExpired = Reason(rawValue: "COUPON_EXPIRED")
        public static let couponNotYetValid = Reason(rawValue: "COUPON_NOT_YET_VALID")
        public static let campaignNotFound = Reason(rawValue: "CAMPAIGN_NOT_FOUND")
        public static let campaignNotOpen = Reason(rawValue: "CAMPAIGN_NOT_OPEN")
        public static let couponSoldOut = Reason(rawValue: "COUPON_SOLD_OUT")
        public static let couponAlreadyIssued = Reason(rawValue: "COUPON_ALREADY_ISSUED")
        public static let invalidDiscount = Reason(rawValue: "INVALID_DISCOUNT")
        public static let invalidWindow = Reason(rawValue: "INVALID_WINDOW")

        // Cart
        public static let notInCart = Reason(rawValue: "NOT_IN_CART")
        public static let emptyCart = Reason(rawValue: "EMPTY_CART")

        // Rankings
        public static let invalidRankingWindow = Reason(rawValue: "INVALID_RANKING_WINDOW")

        // Paging
        public static let invalidPageSize = Reason(rawValue: "INVALID_PAGE_SIZE")
        public static let invalidPageToken = Reason(rawValue: "INVALID_PAGE_TOKEN")

        // Access
        public static let missingCredentials = Reason(rawValue: "MISSING_CREDENTIALS")
        public static let invalidCredentials = Reason(rawValue: "INVALID_CREDENTIALS")
        public static let adminDisabled = Reason(rawValue: "ADMIN_DISABLED")

        // Storage
        public static let storageBusy = Reason(rawValue: "STORAGE_BUSY")
    }
}

extension CommerceError {
    public static func userNotFound(_ id: UserID) -> CommerceError {
        CommerceError(.notFound, .userNotFound, "no user with id \(id)", details: ["user_id": "\(id)"])
    }

    public static func productNotFound(_ id: ProductID) -> CommerceError {
        CommerceError(.notFound, .productNotFound, "no product with id \(id)", details: ["product_id": "\(id)"])
    }
}
