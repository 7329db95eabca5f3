/// The order state machine, and the rules of paying, cancelling and expiring an order.
///
/// ```
/// PENDING_PAYMENT ──pay──▶ PAID ──cancel──▶ REFUNDED
///        │ cancel ──▶ CANCELLED
///        └ time (expires_at) ──▶ EXPIRED
/// ```
///
/// Time decides expiry: an unpaid order whose `expiresAt` has passed *is* EXPIRED, whether or not
/// the sweep has run yet; the sweep only gives its stock and coupon back, once. A store loads the
/// order, asks these methods what may happen, and writes the change with a statement guarded on
/// the status it read (`UPDATE … WHERE status = from`), so a racing writer in another process
/// changes nothing twice.
extension OrderStatus {
    /// The moves the state machine allows.
    public func canMove(to next: OrderStatus) -> Bool {
        switch (self, next) {
        case (.pendingPayment, .paid), (.pendingPayment, .cancelled), (.pendingPayment, .expired), (.paid, .refunded):
            true
        default: false
        }
    }

    /// Whether no move leaves this status.
    public var isFinal: Bool { self == .cancelled || self == .refunded || self == .expired }
}

/// A status string the database holds that the state machine does not know: the row was written
/// by something else, and is never read as some default.
public struct UnknownStoredValue: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var value: String
    public init(field: String, value: String) {
        self.field = field
        self.value = value
    }
    public var description: String {
        "the database holds \(self.field) '\(self.value)', which this server does not know"
    }
}

extension OrderStatus {
    /// Reads a stored status; an unknown one is an error, never a default.
    public init(stored: String) throws(UnknownStoredValue) {
        guard let status = OrderStatus(rawValue: stored) else {
            throw UnknownStoredValue(field: "orders.status", value: stored)
        }
        self = status
    }
}

/// What cancelling an order does.
public enum Cancellation: Hashable, Sendable {
    /// PENDING_PAYMENT → CANCELLED: stock and coupon released, nothing was paid.
    case release
    /// PAID → REFUNDED: stock and coupon back, `amount` back to the balance.
    case refund(amount: Won)

    public var newStatus: OrderStatus {
        switch self {
        case .release: .cancelled
        case .refund: .refunded
        }
    }
}

extension Order {
    /// Whether this unpaid order's time is up at `now`.
    public func isDue(at now: UnixMillis) -> Bool {
        self.status == .pendingPayment && (self.expiresAt.map { now >= $0 } ?? false)
    }

    /// The order as it is at `now`: an unpaid order past its deadline reads EXPIRED before the sweep, too.
    public func asOf(_ now: UnixMillis) -> Order {
        guard self.isDue(at: now) else { return self }
        var order = self
        order.status = .expired
        order.expiresAt = nil
        return order
    }

    /// Checks that `user` may act on this order. Another user's order is reported as not found,
    /// like an id that was never issued: order ids cannot be probed.
    public func checkOwner(_ user: UserID) throws(CommerceError) {
        guard self.userID == user else { throw Self.notFound(self.id) }
    }

    public static func notFound(_ id: OrderID) -> CommerceError {
        CommerceError(.orderNotFound, "no order with id \(id)", details: ["order_id": "\(id)"])
    }

    /// PENDING_PAYMENT → PAID at `now`, if allowed. An expired order is refused as ORDER_EXPIRED
    /// whether or not the sweep has run.
    public func paying(at now: UnixMillis) throws(CommerceError) -> Order {
        let current = self.asOf(now)
        if current.status == .expired { throw self.expired() }
        guard current.status.canMove(to: .paid) else {
            throw CommerceError(
                .orderNotPayable,
                "order \(self.id) is \(current.status.rawValue), only PENDING_PAYMENT orders can be paid",
                details: ["order_id": "\(self.id)", "status": current.status.rawValue]
            )
        }
        var paid = self
        paid.status = .paid
        paid.expiresAt = nil
        return paid
    }

    /// What CancelOrder does to this order at `now`, if allowed. An expired order is refused as
    /// ORDER_EXPIRED, the same as PayOrder, before and after the sweep.
    public func cancellation(at now: UnixMillis) throws(CommerceError) -> Cancellation {
        let current = self.asOf(now)
        switch current.status {
        case .pendingPayment: return .release
        case .paid: return .refund(amount: self.amountPaid)
        case .expired: throw self.expired()
        case .cancelled, .refunded:
            throw CommerceError(
                .orderNotCancellable,
                "order \(self.id) is \(current.status.rawValue), only PENDING_PAYMENT and PAID orders can be cancelled",
                details: ["order_id": "\(self.id)", "status": current.status.rawValue]
            )
        }
    }

    private func expired() -> CommerceError {
        CommerceError(
            .orderExpired,
            "order \(self.id) expired unpaid; its stock and coupon are released",
            details: ["order_id": "\(self.id)", "status": OrderStatus.expired.rawValue]
        )
    }
}
