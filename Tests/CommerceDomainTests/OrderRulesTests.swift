import CommerceDomain
import Testing

/// The rules of orders and coupons, without a database.
@Suite("Order and coupon rules")
struct OrderRulesTests {
    func order(
        _ status: OrderStatus,
        expiresAt: UnixMillis? = 1_000,
        total: Won = 10_000,
        discount: Won = 1_000
    ) -> Order {
        Order(
            id: OrderID(7),
            userID: UserID(1),
            status: status,
            lines: [OrderLine(productID: ProductID(3), productName: "p", unitPrice: 5_000, quantity: 2)],
            total: total,
            discount: discount,
            couponID: nil,
            createdAt: 0,
            expiresAt: status == .pendingPayment ? expiresAt : nil
        )
    }

    /// The reason `body` was refused with; nil if it was not.
    func reason(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as CommerceError {
            return error.reason.rawValue
        } catch {
            return "not a CommerceError: \(error)"
        }
    }

    @Test("the state machine: PENDING_PAYMENT → PAID / CANCELLED / EXPIRED, PAID → REFUNDED, nothing else")
    func transitions() {
        let all: [OrderStatus] = [.pendingPayment, .paid, .cancelled, .refunded, .expired]
        let allowed = Set(
            all.flatMap { from in all.filter { from.canMove(to: $0) }.map { "\(from.rawValue)→\($0.rawValue)" } }
        )
        #expect(
            allowed == [
                "PENDING_PAYMENT→PAID", "PENDING_PAYMENT→CANCELLED", "PENDING_PAYMENT→EXPIRED", "PAID→REFUNDED",
            ]
        )
        #expect(all.filter(\.isFinal) == [.cancelled, .refunded, .expired])
    }

    @Test("time decides expiry: due at expires_at, read as EXPIRED before any sweep")
    func expiryByTime() {
        let pending = self.order(.pendingPayment, expiresAt: 1_000)
        #expect(!pending.isDue(at: 999) && pending.isDue(at: 1_000))
        #expect(pending.asOf(999).status == .pendingPayment && pending.asOf(999).expiresAt == 1_000)
        #expect(pending.asOf(1_000).status == .expired && pending.asOf(1_000).expiresAt == nil)
        #expect(self.order(.paid).asOf(5_000).status == .paid, "only unpaid orders expire")
    }

    @Test(
        "paying: a pending order in time becomes PAID; an expired one is ORDER_EXPIRED swept or not; others ORDER_NOT_PAYABLE"
    )
    func paying() throws {
        let paid = try self.order(.pendingPayment).paying(at: 999)
        #expect(paid.status == .paid && paid.expiresAt == nil)
        #expect(self.reason { _ = try self.order(.pendingPayment).paying(at: 1_000) } == "ORDER_EXPIRED")
        #expect(self.reason { _ = try self.order(.expired).paying(at: 1_000) } == "ORDER_EXPIRED")
        for status in [OrderStatus.paid, .cancelled, .refunded] {
            #expect(self.reason { _ = try self.order(status).paying(at: 0) } == "ORDER_NOT_PAYABLE", "\(status)")
        }
    }

    @Test(
        "cancelling: pending releases, paid refunds what was paid, expired is ORDER_EXPIRED like PayOrder, ended orders ORDER_NOT_CANCELLABLE"
    )
    func cancelling() throws {
        #expect(try self.order(.pendingPayment).cancellation(at: 0) == .release)
        #expect(try self.order(.paid).cancellation(at: 0) == .refund(amount: 9_000))
        #expect(Cancellation.release.newStatus == .cancelled && Cancellation.refund(amount: 1).newStatus == .refunded)
        #expect(self.reason { _ = try self.order(.pendingPayment).cancellation(at: 1_000) } == "ORDER_EXPIRED")
        #expect(self.reason { _ = try self.order(.expired).cancellation(at: 0) } == "ORDER_EXPIRED")
        #expect(self.reason { _ = try self.order(.cancelled).cancellation(at: 0) } == "ORDER_NOT_CANCELLABLE")
        #expect(self.reason { _ = try self.order(.refunded).cancellation(at: 0) } == "ORDER_NOT_CANCELLABLE")
        #expect(self.reason { try self.order(.paid).checkOwner(UserID(2)) } == "ORDER_NOT_FOUND")
    }

    @Test("an unknown stored status is an error, never a default")
    func unknownStatus() throws {
        #expect(try OrderStatus(stored: "PAID") == .paid)
        #expect(throws: UnknownStoredValue(field: "orders.status", value: "SHIPPED")) {
            try OrderStatus(stored: "SHIPPED")
        }
        #expect(throws: UnknownStoredValue.self) { try OrderStatus(stored: "paid") }
    }

    @Test("pricing: lines at their unit prices, the discount capped at the total, an overflowing total refused")
    func pricing() throws {
        let lines = [
            OrderLine(productID: ProductID(1), productName: "a", unitPrice: 3_000, quantity: 3),
            OrderLine(productID: ProductID(2), productName: "b", unitPrice: 500, quantity: 1),
        ]
        #expect(try OrderPricing(lines: lines, coupon: nil) == OrderPricing(total: 9_500, discount: 0))
        let big = self.coupon(.fixed(won: 50_000))
        #expect(try OrderPricing(lines: lines, coupon: big).discount == 9_500)
        #expect(try OrderPricing(lines: lines, coupon: big).amountDue == 0)
        #expect(try OrderPricing(lines: lines, coupon: self.coupon(.percent(10, cap: 500))).discount == 500)
        #expect(try OrderPricing(lines: lines, coupon: self.coupon(.percent(10, cap: nil))).discount == 950)
        let huge = [OrderLine(productID: ProductID(1), productName: "a", unitPrice: Int64.max / 2, quantity: 3)]
        #expect(self.reason { _ = try OrderPricing(lines: huge, coupon: nil) } == "INVALID_QUANTITY")
    }

    @Test("stock and balance: never below zero")
    func stockAndBalance() {
        #expect(self.reason { try StockRule.check(ProductID(1), name: "a", available: 2, ordered: 2) } == nil)
        #expect(
            self.reason { try StockRule.check(ProductID(1), name: "a", available: 1, ordered: 2) } == "OUT_OF_STOCK"
        )
        #expect(self.reason { try BalancePolicy.standard.checkPayment(5_000, balance: 5_000) } == nil)
        #expect(
            self.reason { try BalancePolicy.standard.checkPayment(5_001, balance: 5_000) } == "INSUFFICIENT_BALANCE"
        )
        #expect(
            self.reason { try BalancePolicy.standard.checkCharge(1_000, balance: 999_000, userID: UserID(1)) } == nil
        )
        #expect(
            self.reason { try BalancePolicy.standard.checkCharge(1_001, balance: 999_000, userID: UserID(1)) }
                == "BALANCE_LIMIT_EXCEEDED"
        )
    }

    func coupon(
        _ discount: Discount,
        owner: Int64 = 1,
        hold: CouponHold = .free,
        from: UnixMillis = 100,
        until: UnixMillis = 200
    ) -> Coupon {
        Coupon(
            id: CouponID(5),
            userID: UserID(owner),
            campaign: CouponCampaign(
                id: CampaignID(9),
                name: "c",
                discount: discount,
                totalQuantity: 10,
                issued: 1,
                validFrom: from,
                validUntil: until
            ),
            hold: hold,
            issuedAt: 100
        )
    }

    @Test("coupon usability: owner first, then the hold, then the window; states AVAILABLE, RESERVED, USED, EXPIRED")
    func couponUsability() {
        let free = self.coupon(.fixed(won: 100))
        #expect(self.reason { try free.checkUsable(by: UserID(1), at: 150) } == nil)
        #expect(self.reason { try free.checkUsable(by: UserID(2), at: 150) } == "COUPON_NOT_OWNED")
        #expect(self.reason { try free.checkUsable(by: UserID(1), at: 99) } == "COUPON_NOT_YET_VALID")
        #expect(self.reason { try free.checkUsable(by: UserID(1), at: 201) } == "COUPON_EXPIRED")
        let reserved = self.coupon(.fixed(won: 100), hold: .reserved(by: OrderID(4)))
        #expect(self.reason { try reserved.checkUsable(by: UserID(1), at: 150) } == "COUPON_ALREADY_USED")
        #expect(
            self.reason { try reserved.checkUsable(by: UserID(2), at: 300) } == "COUPON_NOT_OWNED",
            "a stranger learns nothing more"
        )
        #expect(free.state(at: 150) == .available && free.state(at: 201) == .expired)
        #expect(
            reserved.state(at: 150) == .reserved && reserved.state(at: 500) == .reserved
                && reserved.orderID == OrderID(4)
        )
        #expect(self.coupon(.fixed(won: 1), hold: .used(by: OrderID(4))).state(at: 500) == .used)
        #expect(CouponHold(order: OrderID(4), status: .pendingPayment) == .reserved(by: OrderID(4)))
        #expect(CouponHold(order: OrderID(4), status: .paid) == .used(by: OrderID(4)))
        #expect(CouponHold(order: nil, status: nil) == .free)
    }

    @Test(
        "issuing: when several refusals apply, the campaign's, then the user's, then already-issued win, in that order"
    )
    func issuancePrecedence() {
        let open = CouponCampaign(
            id: CampaignID(9),
            name: "c",
            discount: .fixed(won: 1),
            totalQuantity: 1,
            issued: 1,
            validFrom: 100,
            validUntil: 200
        )
        func check(_ campaign: CouponCampaign?, exists: Bool, holds: Bool, at now: UnixMillis) -> String? {
            self.reason {
                try CouponIssuance.check(
                    CampaignID(9),
                    campaign: campaign,
                    user: UserID(1),
                    userExists: exists,
                    alreadyHolds: holds,
                    at: now
                )
            }
        }
        #expect(check(nil, exists: false, holds: true, at: 150) == "CAMPAIGN_NOT_FOUND")
        #expect(check(open, exists: false, holds: true, at: 99) == "CAMPAIGN_NOT_OPEN")
        #expect(check(open, exists: false, holds: true, at: 201) == "CAMPAIGN_NOT_OPEN")
        #expect(check(open, exists: false, holds: false, at: 150) == "USER_NOT_FOUND")
        #expect(
            check(open, exists: true, holds: true, at: 150) == "COUPON_ALREADY_ISSUED",
            "even when sold out (issued == total)"
        )
        #expect(check(open, exists: true, holds: false, at: 150) == nil, "the guarded count decides COUPON_SOLD_OUT")
    }
}
