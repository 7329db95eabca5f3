import CommerceDomain
import CommerceProto

// Domain -> protobuf, at the edge only.

extension Commerce_V1_User {
    init(_ user: User) {
        self.init()
        self.id = user.id.rawValue
        self.name = user.name
        self.balance = user.balance
        self.createdAtUnixMs = user.createdAt
    }
}

extension Commerce_V1_Product {
    init(_ product: Product) {
        self.init()
        self.id = product.id.rawValue
        self.name = product.name
        self.price = product.price
        self.stock = product.stock
        self.createdAtUnixMs = product.createdAt
    }
}

extension Commerce_V1_BalanceEntry {
    init(_ entry: BalanceEntry) {
        self.init()
        self.id = entry.id
        self.type =
            switch entry.type {
            case .charge: .charge
            case .use: .use
            case .refund: .refund
            }
        self.amount = entry.amount
        self.balanceAfter = entry.balanceAfter
        self.createdAtUnixMs = entry.createdAt
    }
}

extension Commerce_V1_ChargeBalanceResponse {
    init(_ receipt: ChargeReceipt) {
        self.init()
        self.userID = receipt.userID.rawValue
        self.balance = receipt.balance
        self.charged = receipt.charged
        self.entryID = receipt.entryID
        self.replayed = receipt.replayed
    }
}
