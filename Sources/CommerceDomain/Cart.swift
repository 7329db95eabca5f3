public struct CartLine: Hashable, Sendable {
    public var productID: ProductID
    public var productName: String
    public var unitPrice: Won
    public var quantity: Int64
    public var stock: Int64

    public init(productID: ProductID, productName: String, unitPrice: Won, quantity: Int64, stock: Int64) {
        self.productID = productID
        self.productName = productName
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.stock = stock
    }

    public var total: Won { self.unitPrice * self.quantity }
    public var available: Bool { self.stock >= self.quantity }
}

public struct Cart: Hashable, Sendable {
    public static let maximumLines = OrderRequest.maximumLines

    public var userID: UserID
    public var lines: [CartLine]

    public init(userID: UserID, lines: [CartLine]) {
        self.userID = userID
        self.lines = lines
    }

    public var total: Won { self.lines.reduce(0) { $0 + $1.total } }
    public var allAvailable: Bool { self.lines.allSatisfy(\.available) }
}

/// A change to a cart, validated.
public enum CartChange: Hashable, Sendable {
    /// Adds to the line's quantity (creating it).
    case add(ProductID, Int64)
    /// Sets the line's quantity.
    case set(ProductID, Int64)
    case remove(ProductID)

    /// Adds `quantity` (1 through ``OrderRequest/maximumQuantity``) of `product`.
    public static func adding(_ product: ProductID, quantity: Int64) throws(CommerceError) -> CartChange {
        .add(product, try Validate.quantity(quantity, max: OrderRequest.maximumQuantity))
    }

    /// Sets the line of `product` to `quantity` (1 through ``OrderRequest/maximumQuantity``).
    public static func setting(_ product: ProductID, quantity: Int64) throws(CommerceError) -> CartChange {
        .set(product, try Validate.quantity(quantity, max: OrderRequest.maximumQuantity))
    }
}
