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

extension Commerce_V1_Order {
    init(_ order: Order) {
        self.init()
        self.id = order.id.rawValue
        self.userID = order.userID.rawValue
        self.status =
            switch order.status {
            case .pendingPayment: .pendingPayment
            case .paid: .paid
            case .cancelled: .cancelled
            case .refunded: .refunded
            case .expired: .expired
            }
        self.lines = order.lines.map { line in
            Commerce_V1_OrderLine.with {
                $0.productID = line.productID.rawValue
                $0.productName = line.productName
                $0.unitPrice = line.unitPrice
                $0.quantity = line.quantity
                $0.lineTotal = line.total
            }
        }
        self.total = order.total
        self.discount = order.discount
        self.amountPaid = order.amountPaid
        self.couponID = order.couponID?.rawValue ?? 0
        self.createdAtUnixMs = order.createdAt
        self.expiresAtUnixMs = order.expiresAt ?? 0
    }
}

extension Commerce_V1_CouponCampaign {
    init(_ campaign: CouponCampaign) {
        self.init()
        self.id = campaign.id.rawValue
        self.name = campaign.name
        switch campaign.discount {
        case .fixed(let won):
            self.kind = .fixed
            self.amount = won
        case .percent(let percent, let cap):
            self.kind = .percent
            self.amount = percent
            self.maxDiscount = cap ?? 0
        }
        self.totalQuantity = campaign.totalQuantity
        self.issued = campaign.issued
        self.validFromUnixMs = campaign.validFrom
        self.validUntilUnixMs = campaign.validUntil
    }
}

extension Commerce_V1_Coupon {
    init(_ coupon: Coupon, now: UnixMillis) {
        self.init()
        self.id = coupon.id.rawValue
        self.userID = coupon.userID.rawValue
        self.campaign = .init(coupon.campaign)
        self.state =
            switch coupon.state(at: now) {
            case .available: .available
            case .reserved: .reserved
            case .used: .used
            case .expired: .expired
            }
        self.orderID = coupon.orderID?.rawValue ?? 0
        self.issuedAtUnixMs = coupon.issuedAt
    }
}
