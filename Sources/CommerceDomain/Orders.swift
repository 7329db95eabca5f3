public enum OrderStatus: String, Hashable, Sendable {
    case pendingPayment = "PENDING_PAYMENT"
    case paid = "PAID"
    case cancelled = "CANCELLED"
    case refunded = "REFUNDED"
    case expired = "EXPIRED"
}

/// One line of an order, with the name and unit price as sold.
public struct OrderLine: Hashable, Sendable {
    public var productID: ProductID
    public var productName: String
    public var unitPrice: Won
    public var quantity: Int64

    public init(productID: ProductID, productName: String, unitPrice: Won, quantity: Int64) {
        self.productID = productID
        self.productName = productName
        self.unitPrice = unitPrice
        self.quantity = quantity
    }

    public var total: Won { self.unitPrice * self.quantity }
}

public struct Order: Hashable, Sendable {
    public var id: OrderID
    public var userID: UserID
    public var status: OrderStatus
    public var lines: [OrderLine]
    public var total: Won
    public var discount: Won
    public var couponID: CouponID?
    public var createdAt: UnixMillis
    /// When an unpaid (PENDING_PAYMENT) order expires; nil otherwise.
    public var expiresAt: UnixMillis?

    public init(
        id: OrderID,
        userID: UserID,
        status: OrderStatus,
        lines: [OrderLine],
        total: Won,
        discount: Won,
        couponID: CouponID?,
        createdAt: UnixMillis,
        expiresAt: UnixMillis? = nil
    ) {
        self.expiresAt = expiresAt
        self.id = id
        self.userID = userID
        self.status = status
        self.lines = lines
        self.total = total
        self.discount = discount
        self.couponID = couponID
        self.createdAt = createdAt
    }

    public var amountPaid: Won { self.total - self.discount }
}

/// The result of PlaceOrder; `replayed` when the idempotency key had been used before.
public struct OrderReceipt: Hashable, Sendable {
    public var order: Order
    public var balanceAfter: Won
    public var replayed: Bool

    public init(order: Order, balanceAfter: Won, replayed: Bool) {
        self.order = order
        self.balanceAfter = balanceAfter
        self.replayed = replayed
    }
}

/// The result of CancelOrder.
public struct RefundReceipt: Hashable, Sendable {
    public var order: Order
    public var refunded: Won
    public var balanceAfter: Won

    public init(order: Order, refunded: Won, balanceAfter: Won) {
        self.order = order
        self.refunded = refunded
        self.balanceAfter = balanceAfter
    }
}

/// What a buyer asked for, validated: lines merged by product and sorted by product id.
public struct OrderRequest: Hashable, Sendable {
    public static let maximumLines = 50
    public static let maximumQuantity: Int64 = 1_000

    public var userID: UserID
    public var lines: [(productID: ProductID, quantity: Int64)]
    public var couponID: CouponID?

    /// Duplicate product lines are **merged**: their quantities are added (the sum must stay
    /// within the per-line maximum).
    public static func validate(
        userID: UserID,
        items: [(productID: ProductID, quantity: Int64)],
        couponID: CouponID?
    )
        throws(CommerceError) -> OrderRequest
    {
        guard !items.isEmpty else {
            throw CommerceError(.emptyOrder, "an order needs at least one item")
        }
        guard items.count <= maximumLines else {
            throw CommerceError(.tooManyLines, "an order may have at most \(maximumLines) items, got \(items.count)")
        }
        var merged: [ProductID: Int64] = [:]
        for (product, quantity) in items {
            merged[product, default: 0] += try Validate.quantity(
                quantity,
                field: "quantity of product \(product)",
                max: maximumQuantity
            )
        }
        for (product, quantity) in merged where quantity > maximumQuantity {
            throw CommerceError(
                .invalidQuantity,
                "lines of product \(product) add up to \(quantity), more than \(maximumQuantity)",
                details: ["product_id": "\(product)"]
            )
        }
        return OrderRequest(
            userID: userID,
            lines: merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            couponID: couponID
        )
    }

    /// A stable description of what was asked, to tell a replay from a reused idempotency key.
    public var fingerprint: String {
        self.lines.map { "\($0.productID.rawValue)x\($0.quantity)" }.joined(separator: ",")
            + "|c\(self.couponID?.rawValue ?? 0)"
    }

    public static func == (lhs: OrderRequest, rhs: OrderRequest) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.userID == rhs.userID
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.fingerprint) }
}
