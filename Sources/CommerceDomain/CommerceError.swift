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

    public var reason: Reason
    public var message: String
    public var details: [String: String]
    /// The reason's kind: each reason has one.
    public var kind: Kind { self.reason.kind }

    public init(_ reason: Reason, _ message: String, details: [String: String] = [:]) {
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(self.reason.rawValue): \(self.message)" }
}

extension CommerceError {
    /// Stable, `UPPER_SNAKE_CASE`; clients switch on these. Each reason has one kind (so one status
    /// code on the wire) and a meaning: the table in docs/protocol.md is made from ``all``.
    public struct Reason: Hashable, Sendable {
        public let rawValue: String
        public let kind: Kind
        /// When a caller gets it, for the docs.
        public let meaning: String

        init(_ rawValue: String, _ kind: Kind, _ meaning: String) {
            self.rawValue = rawValue
            self.kind = kind
            self.meaning = meaning
        }

        public static func == (lhs: Reason, rhs: Reason) -> Bool { lhs.rawValue == rhs.rawValue }
        public func hash(into hasher: inout Hasher) { hasher.combine(self.rawValue) }

        // Users and balance
        public static let userNotFound = Reason("USER_NOT_FOUND", .notFound, "No user has the id.")
        public static let invalidUserID = Reason(
            "INVALID_USER_ID",
            .invalidArgument,
            "user_id is not a positive id."
        )
        public static let invalidName = Reason(
            "INVALID_NAME",
            .invalidArgument,
            "A name is empty after trimming, too long, or holds control characters."
        )
        public static let invalidAmount = Reason(
            "INVALID_AMOUNT",
            .invalidArgument,
            "A charge amount is not positive."
        )
        public static let chargeBelowMinimum = Reason(
            "CHARGE_BELOW_MINIMUM",
            .invalidArgument,
            "A charge is below the minimum (1,000 won)."
        )
        public static let balanceLimitExceeded = Reason(
            "BALANCE_LIMIT_EXCEEDED",
            .failedPrecondition,
            "The charge would take the balance above its ceiling (1,000,000 won)."
        )
        public static let insufficientBalance = Reason(
            "INSUFFICIENT_BALANCE",
            .failedPrecondition,
            "The balance does not cover the amount due."
        )
        public static let invalidIdempotencyKey = Reason(
            "INVALID_IDEMPOTENCY_KEY",
            .invalidArgument,
            "The key is not 1 to 128 printable ASCII characters, or the field and the metadata disagree."
        )
        public static let idempotencyKeyReused = Reason(
            "IDEMPOTENCY_KEY_REUSED",
            .alreadyExists,
            "The key was first used for a different request."
        )

        // Products
        public static let productNotFound = Reason(
            "PRODUCT_NOT_FOUND",
            .notFound,
            "No product has the id."
        )
        public static let invalidProductID = Reason(
            "INVALID_PRODUCT_ID",
            .invalidArgument,
            "product_id is not a positive id."
        )
        public static let invalidPrice = Reason(
            "INVALID_PRICE",
            .invalidArgument,
            "A price is not 1 to 100,000,000 won."
        )
        public static let invalidQuantity = Reason(
            "INVALID_QUANTITY",
            .invalidArgument,
            "A quantity is out of its range (an order line 1 to 1,000, merged lines included)."
        )
        public static let stockLimitExceeded = Reason(
            "STOCK_LIMIT_EXCEEDED",
            .failedPrecondition,
            "A restock would take stock above its maximum."
        )
        public static let outOfStock = Reason(
            "OUT_OF_STOCK",
            .failedPrecondition,
            "Too little stock for a line (details: product_id, available)."
        )

        // Orders
        public static let orderNotFound = Reason(
            "ORDER_NOT_FOUND",
            .notFound,
            "No order has the id, or the order is not the caller's."
        )
        public static let invalidOrderID = Reason(
            "INVALID_ORDER_ID",
            .invalidArgument,
            "order_id is not a positive id."
        )
        public static let emptyOrder = Reason(
            "EMPTY_ORDER",
            .invalidArgument,
            "An order without items."
        )
        public static let tooManyLines = Reason(
            "TOO_MANY_LINES",
            .invalidArgument,
            "An order with more than 50 lines."
        )
        public static let orderNotCancellable = Reason(
            "ORDER_NOT_CANCELLABLE",
            .failedPrecondition,
            "The order is CANCELLED, EXPIRED or REFUNDED already."
        )
        public static let orderNotPayable = Reason(
            "ORDER_NOT_PAYABLE",
            .failedPrecondition,
            "The order is not PENDING_PAYMENT."
        )
        public static let orderExpired = Reason(
            "ORDER_EXPIRED",
            .failedPrecondition,
            "The order's time to pay ran out (before or after the sweep)."
        )

        // Coupons
        public static let invalidCouponID = Reason(
            "INVALID_COUPON_ID",
            .invalidArgument,
            "coupon_id is negative (0 means none)."
        )
        public static let invalidCampaignID = Reason(
            "INVALID_CAMPAIGN_ID",
            .invalidArgument,
            "campaign_id is not a positive id."
        )
        public static let couponNotFound = Reason(
            "COUPON_NOT_FOUND",
            .notFound,
            "No coupon has the id."
        )
        public static let couponNotOwned = Reason(
            "COUPON_NOT_OWNED",
            .permissionDenied,
            "The coupon belongs to another user."
        )
        public static let couponAlreadyUsed = Reason(
            "COUPON_ALREADY_USED",
            .failedPrecondition,
            "The coupon is used or reserved by another order."
        )
        public static let couponExpired = Reason(
            "COUPON_EXPIRED",
            .failedPrecondition,
            "The coupon's campaign window has ended."
        )
        public static let couponNotYetValid = Reason(
            "COUPON_NOT_YET_VALID",
            .failedPrecondition,
            "The coupon's campaign window has not begun."
        )
        public static let campaignNotFound = Reason(
            "CAMPAIGN_NOT_FOUND",
            .notFound,
            "No campaign has the id."
        )
        public static let campaignNotOpen = Reason(
            "CAMPAIGN_NOT_OPEN",
            .failedPrecondition,
            "Issuing outside the campaign's window."
        )
        public static let couponSoldOut = Reason(
            "COUPON_SOLD_OUT",
            .failedPrecondition,
            "Every coupon of the campaign is issued."
        )
        public static let couponAlreadyIssued = Reason(
            "COUPON_ALREADY_ISSUED",
            .alreadyExists,
            "The user already holds a coupon of the campaign (wins over COUPON_SOLD_OUT)."
        )
        public static let invalidDiscount = Reason(
            "INVALID_DISCOUNT",
            .invalidArgument,
            "A campaign's discount kind, amount or cap is out of range."
        )
        public static let invalidWindow = Reason(
            "INVALID_WINDOW",
            .invalidArgument,
            "A campaign's valid_from is not positive or not before valid_until."
        )

        // Cart
        public static let notInCart = Reason(
            "NOT_IN_CART",
            .notFound,
            "The product is not in the cart."
        )
        public static let cartFull = Reason(
            "CART_FULL",
            .failedPrecondition,
            "The cart already holds 50 products."
        )
        public static let emptyCart = Reason(
            "EMPTY_CART",
            .failedPrecondition,
            "Checking out an empty cart."
        )

        // Rankings
        public static let invalidRankingWindow = Reason(
            "INVALID_RANKING_WINDOW",
            .invalidArgument,
            "days or limit out of range, or an unknown window."
        )
        public static let invalidRankBy = Reason(
            "INVALID_RANK_BY",
            .invalidArgument,
            "An unknown rank_by."
        )

        // Paging
        public static let invalidPageSize = Reason(
            "INVALID_PAGE_SIZE",
            .invalidArgument,
            "page_size is not 0 to 500."
        )
        public static let invalidPageToken = Reason(
            "INVALID_PAGE_TOKEN",
            .invalidArgument,
            "page_token was not issued by this server."
        )

        // Access (docs/security.md)
        public static let missingCredentials = Reason(
            "MISSING_CREDENTIALS",
            .unauthenticated,
            "A call that needs a credential has no `authorization: Bearer <token>` metadata."
        )
        public static let invalidCredentials = Reason(
            "INVALID_CREDENTIALS",
            .unauthenticated,
            "The bearer credential is not a token and not the admin token."
        )
        public static let tokenMalformed = Reason(
            "TOKEN_MALFORMED",
            .unauthenticated,
            "The token is not a compact JWS with a JSON header and claims (sub, scope, exp), or a user token's subject is not a user id."
        )
        public static let tokenExpired = Reason(
            "TOKEN_EXPIRED",
            .unauthenticated,
            "The token's exp has passed (30 s of clock skew allowed)."
        )
        public static let tokenNotYetValid = Reason(
            "TOKEN_NOT_YET_VALID",
            .unauthenticated,
            "The token's nbf is in the future (30 s of clock skew allowed)."
        )
        public static let tokenSignatureInvalid = Reason(
            "TOKEN_SIGNATURE_INVALID",
            .unauthenticated,
            "The token's signature does not verify with the key its kid names."
        )
        public static let tokenKeyUnknown = Reason(
            "TOKEN_KEY_UNKNOWN",
            .unauthenticated,
            "The token names no kid, or one the server does not hold (a removed key)."
        )
        public static let tokenAlgorithmRefused = Reason(
            "TOKEN_ALGORITHM_REFUSED",
            .unauthenticated,
            "The token's alg is none, unsupported, or not the algorithm of the key its kid names."
        )
        public static let scopeMissing = Reason(
            "SCOPE_MISSING",
            .permissionDenied,
            "The token lacks the scope the method needs (details: required_scope)."
        )
        public static let subjectMismatch = Reason(
            "SUBJECT_MISMATCH",
            .permissionDenied,
            "A user token used for another user's data."
        )
        public static let adminDisabled = Reason(
            "ADMIN_DISABLED",
            .permissionDenied,
            "An admin call to a server with neither an admin token nor token keys."
        )

        // Storage
        /// Every reason, in the order above (a test checks none is missing).
        public static let all: [Reason] = [
            .userNotFound, .invalidUserID, .invalidName, .invalidAmount, .chargeBelowMinimum,
            .balanceLimitExceeded, .insufficientBalance, .invalidIdempotencyKey, .idempotencyKeyReused,
            .productNotFound, .invalidProductID, .invalidPrice, .invalidQuantity, .stockLimitExceeded,
            .outOfStock, .orderNotFound, .invalidOrderID, .emptyOrder, .tooManyLines,
            .orderNotCancellable, .orderNotPayable, .orderExpired, .invalidCouponID, .invalidCampaignID,
            .couponNotFound, .couponNotOwned, .couponAlreadyUsed, .couponExpired, .couponNotYetValid,
            .campaignNotFound, .campaignNotOpen, .couponSoldOut, .couponAlreadyIssued, .invalidDiscount,
            .invalidWindow, .notInCart, .cartFull, .emptyCart, .invalidRankingWindow, .invalidRankBy,
            .invalidPageSize, .invalidPageToken, .missingCredentials, .invalidCredentials, .tokenMalformed,
            .tokenExpired, .tokenNotYetValid, .tokenSignatureInvalid, .tokenKeyUnknown, .tokenAlgorithmRefused,
            .scopeMissing, .subjectMismatch, .adminDisabled,
            .storageBusy, .storageUnavailable, .storageFull, .writeQueueFull,
        ]

        public static let writeQueueFull = Reason(
            "WRITE_QUEUE_FULL",
            .resourceExhausted,
            "More writes wait for the database than the server queues (--max-queued-writes); retry shortly."
        )
        public static let storageUnavailable = Reason(
            "STORAGE_UNAVAILABLE",
            .unavailable,
            "The database server cannot be reached or is restarting; nothing of the call was committed unless said otherwise; retry."
        )
        public static let storageFull = Reason(
            "STORAGE_FULL",
            .unavailable,
            "The database's disk is full: nothing of the call was committed; reads still answer, and writes resume by themselves once space is freed."
        )
        public static let storageBusy = Reason(
            "STORAGE_BUSY",
            .unavailable,
            "The database stayed locked by another process for the busy timeout; retry."
        )
    }
}

extension CommerceError {
    public static func userNotFound(_ id: UserID) -> CommerceError {
        CommerceError(.userNotFound, "no user with id \(id)", details: ["user_id": "\(id)"])
    }

    public static func productNotFound(_ id: ProductID) -> CommerceError {
        CommerceError(.productNotFound, "no product with id \(id)", details: ["product_id": "\(id)"])
    }
}
