/// What an order costs: the lines at the prices they are sold at, and the coupon's discount.
public struct OrderPricing: Hashable, Sendable {
    public var total: Won
    /// Never more than the total.
    public var discount: Won
    public var amountDue: Won { self.total - self.discount }

    public init(total: Won, discount: Won) {
        self.total = total
        self.discount = discount
    }

    /// Prices `lines` with `coupon` (already checked usable). A total beyond Int64 is refused.
    public init(lines: [OrderLine], coupon: Coupon?) throws(CommerceError) {
        var total: Won = 0
        for line in lines {
            let (lineTotal, o1) = line.unitPrice.multipliedReportingOverflow(by: line.quantity)
            let (sum, o2) = total.addingReportingOverflow(lineTotal)
            guard !o1, !o2 else { throw CommerceError(.invalidQuantity, "the order total is too large") }
            total = sum
        }
        self.total = total
        self.discount = coupon?.campaign.discount.amount(on: total) ?? 0
    }
}

/// The rule of stock: an order line takes units only while that many are on the shelf.
public enum StockRule {
    /// The most units one product may hold (a restock beyond it is refused).
    public static let maximumStock: Int64 = 1_000_000_000

    /// A restock that would take `stock` past ``maximumStock``.
    public static func limitExceeded(_ product: ProductID, stock: Int64, restocking quantity: Int64) -> CommerceError {
        CommerceError(
            .stockLimitExceeded,
            "restocking \(quantity) units onto \(stock) would exceed \(maximumStock)",
            details: ["product_id": "\(product)", "stock": "\(stock)"]
        )
    }

    /// - Throws: `OUT_OF_STOCK` when `ordered` exceeds `available`.
    public static func check(_ product: ProductID, name: String, available: Int64, ordered: Int64) throws(CommerceError)
    {
        guard available >= ordered else {
            throw outOfStock(product, name: name, available: available, ordered: ordered)
        }
    }

    public static func outOfStock(_ product: ProductID, name: String, available: Int64, ordered: Int64) -> CommerceError
    {
        CommerceError(
            .outOfStock,
            "\"\(name)\" has \(available) in stock, \(ordered) ordered",
            details: ["product_id": "\(product)", "product_name": name, "available": "\(available)"]
        )
    }
}

extension BalancePolicy {
    /// A payment never takes a balance below zero.
    /// - Throws: `INSUFFICIENT_BALANCE`.
    public func checkPayment(_ amount: Won, balance: Won) throws(CommerceError) {
        guard balance >= amount else { throw Self.insufficientBalance(balance, required: amount) }
    }

    public static func insufficientBalance(_ balance: Won, required: Won) -> CommerceError {
        CommerceError(
            .insufficientBalance,
            "the order costs \(required) won, the balance is \(balance) won",
            details: ["balance": "\(balance)", "required": "\(required)"]
        )
    }

    /// A charge never takes a balance above the maximum.
    /// - Throws: `BALANCE_LIMIT_EXCEEDED`.
    public func checkCharge(_ amount: Won, balance: Won, userID: UserID) throws(CommerceError) {
        guard balance <= self.maximumBalance - amount else {
            throw self.limitExceeded(userID: userID, amount: amount, balance: balance)
        }
    }
}
