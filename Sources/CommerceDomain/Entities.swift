public struct User: Hashable, Sendable {
    public var id: UserID
    public var name: String
    public var balance: Won
    public var createdAt: UnixMillis

    public init(id: UserID, name: String, balance: Won, createdAt: UnixMillis) {
        self.id = id
        self.name = name
        self.balance = balance
        self.createdAt = createdAt
    }

    /// A user's name: trimmed, 1 to 100 characters, no control characters.
    public static func validName(_ raw: String) throws(CommerceError) -> String {
        try Validate.name(raw, maxLength: 100)
    }
}

public struct Product: Hashable, Sendable {
    public var id: ProductID
    public var name: String
    public var price: Won
    public var stock: Int64
    public var createdAt: UnixMillis

    public init(id: ProductID, name: String, price: Won, stock: Int64, createdAt: UnixMillis) {
        self.id = id
        self.name = name
        self.price = price
        self.stock = stock
        self.createdAt = createdAt
    }
}

/// A product to add to the catalogue, validated.
public struct NewProduct: Hashable, Sendable {
    public var name: String
    public var price: Won
    public var initialStock: Int64

    public static func validate(name: String, price: Int64, initialStock: Int64) throws(CommerceError) -> NewProduct {
        NewProduct(
            name: try Validate.name(name, maxLength: 200),
            price: try Validate.price(price),
            initialStock: try Validate.quantity(initialStock, field: "initial_stock", allowZero: true)
        )
    }

    private init(name: String, price: Won, initialStock: Int64) {
        self.name = name
        self.price = price
        self.initialStock = initialStock
    }
}

public enum BalanceEntryType: String, Hashable, Sendable, CaseIterable {
    case charge = "CHARGE"
    case use = "USE"
    case refund = "REFUND"
}

/// One line of a user's balance history.
public struct BalanceEntry: Hashable, Sendable {
    public var id: Int64
    public var userID: UserID
    public var type: BalanceEntryType
    /// Positive for charges and refunds, negative for uses.
    public var amount: Won
    public var balanceAfter: Won
    public var createdAt: UnixMillis

    public init(
        id: Int64,
        userID: UserID,
        type: BalanceEntryType,
        amount: Won,
        balanceAfter: Won,
        createdAt: UnixMillis
    ) {
        self.id = id
        self.userID = userID
        self.type = type
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.createdAt = createdAt
    }
}

/// The result of a charge; `replayed` when the idempotency key had been used before.
public struct ChargeReceipt: Hashable, Sendable {
    public var userID: UserID
    public var charged: Won
    public var balance: Won
    public var entryID: Int64
    public var replayed: Bool

    public init(userID: UserID, charged: Won, balance: Won, entryID: Int64, replayed: Bool) {
        self.userID = userID
        self.charged = charged
        self.balance = balance
        self.entryID = entryID
        self.replayed = replayed
    }
}
