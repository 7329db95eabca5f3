/// What the data platform receives for every paid order and every refund, as JSON.
/// `event_id` is unique: receivers deduplicate on it (delivery is at least once).
public struct OrderEvent: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case orderPaid = "ORDER_PAID"
        case orderRefunded = "ORDER_REFUNDED"
    }

    public struct Line: Codable, Hashable, Sendable {
        public var productID: Int64
        public var productName: String
        public var unitPrice: Won
        public var quantity: Int64

        enum CodingKeys: String, CodingKey {
            case productID = "product_id"
            case productName = "product_name"
            case unitPrice = "unit_price"
            case quantity
        }
    }

    public var eventID: String
    public var kind: Kind
    public var orderID: Int64
    public var userID: Int64
    public var total: Won
    public var discount: Won
    /// Paid (ORDER_PAID) or refunded (ORDER_REFUNDED), in won.
    public var amount: Won
    public var couponID: Int64?
    public var lines: [Line]
    public var occurredAtUnixMs: UnixMillis
    /// The W3C trace context of the call that caused it, when calls are traced: the data
    /// platform's receiver can join its processing to the order's trace.
    public var traceParent: String?

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case kind = "type"
        case orderID = "order_id"
        case userID = "user_id"
        case total, discount, amount
        case couponID = "coupon_id"
        case lines
        case occurredAtUnixMs = "occurred_at_unix_ms"
        case traceParent = "traceparent"
    }

    public init(eventID: String, kind: Kind, order: Order, amount: Won, at: UnixMillis, traceParent: String? = nil) {
        self.traceParent = traceParent
        self.eventID = eventID
        self.kind = kind
        self.orderID = order.id.rawValue
        self.userID = order.userID.rawValue
        self.total = order.total
        self.discount = order.discount
        self.amount = amount
        self.couponID = order.couponID?.rawValue
        self.lines = order.lines.map {
            Line(
                productID: $0.productID.rawValue,
                productName: $0.productName,
                unitPrice: $0.unitPrice,
                quantity: $0.quantity
            )
        }
        self.occurredAtUnixMs = at
    }
}

/// An event waiting in the outbox.
public struct PendingEvent: Hashable, Sendable {
    public var sequence: Int64
    public var eventID: String
    public var json: String
    public var attempts: Int
    /// When the change it reports committed.
    public var createdAt: UnixMillis

    /// What the data platform receives: the stored JSON with the outbox `sequence` first. A receiver
    /// sorts on it: on SQLite (one writer) it is the commit order of every event; on PostgreSQL the
    /// commit order of each order's events (a refund's is above its payment's), not across orders.
    /// A redelivered event carries the same sequence and `event_id`.
    public var delivered: String {
        "{\"sequence\":\(self.sequence)," + self.json.dropFirst()
    }

    /// The event's ``OrderEvent/traceParent``, read from its JSON (where the writer put it unescaped:
    /// a trace context is hex digits and dashes).
    public var traceParent: String? {
        let utf8 = self.json.utf8
        guard let key = utf8.firstRange(of: "\"traceparent\":\"".utf8) else { return nil }
        let value = utf8[key.upperBound...]
        guard let end = value.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(value[..<end])
    }

    public init(sequence: Int64, eventID: String, json: String, attempts: Int, createdAt: UnixMillis) {
        self.sequence = sequence
        self.eventID = eventID
        self.json = json
        self.attempts = attempts
        self.createdAt = createdAt
    }
}
