import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: OrderStore {
    public func placeOrder(_ command: PlaceOrderCommand) -> PendingWrite<OrderReceipt> {
        self.transaction { db in
            if let key = command.idempotencyKey,
                let replay = try Self.replayedOrder(
                    db,
                    user: command.request.userID,
                    key: key,
                    fingerprint: command.request.fingerprint
                )
            {
                return replay
            }
            return try self.placeOrder(db, command)
        }
    }

    /// The first order placed under `key`, if any; a different fingerprint under it is refused.
    /// `fingerprint` nil accepts any (a cart checkout: the cart is empty after the first one).
    static func replayedOrder(
        _ db: Database,
        user: UserID,
        key: String,
        fingerprint: @autoclosure () -> String?
    ) throws -> OrderReceipt? {
        guard
            let first = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT fingerprint, order_id, balance_after FROM order_requests WHERE user_id = ? AND key = ?
                        """
                ),
                arguments: [user.rawValue, key]
            )
        else { return nil }
        if let fingerprint = fingerprint(), (first["fingerprint"] as String) != fingerprint {
            throw CommerceError(
                .idempotencyKeyReused,
                "idempotency key was first used for a different order (order \(first["order_id"] as Int64))",
                details: ["order_id": "\(first["order_id"] as Int64)"]
            )
        }
        let order = try Self.loadOrder(db, OrderID(first["order_id"]))!
        return OrderReceipt(order: order, balanceAfter: first["balance_after"], replayed: true)
    }

    /// The body of an order, inside the caller's transaction (PlaceOrder, CreateOrder, CheckoutCart):
    /// take stock for every line (guarded), record the order and its lines, mark the coupon used
    /// (guarded); then, unless it is a two-step order, pay it (guarded).
    ///
    /// Every refusal — unknown buyer or product, unusable coupon, too little stock or balance — is
    /// found by reads before the first change: a refused order changes nothing, so it costs its
    /// group-commit batch no replay. The transaction holds the write lock, so what the reads saw
    /// still holds at the writes; their guards decide all the same.
    func placeOrder(_ db: Database, _ command: PlaceOrderCommand) throws -> OrderReceipt {
        let request = command.request
        let user = request.userID.rawValue
        let status: OrderStatus = command.expiresAt == nil ? .paid : .pendingPayment
        guard let balance = try Self.balance(db, of: request.userID) else {
            throw CommerceError.userNotFound(request.userID)
        }
        let coupon = try request.couponID.map { try Self.usableCoupon(db, $0, user: request.userID, at: command.at) }
        var lines: [OrderLine] = []
        lines.reserveCapacity(request.lines.count)
        for (product, quantity) in request.lines {
            guard
                let (name, price, stock) = try db.fetchFirst(
                    direct: "SELECT name, price, stock FROM products WHERE id = ?",
                    product.rawValue,
                    read: { ($0.string(0), $0.int64(1), $0.int64(2)) }
                )
            else {
                throw CommerceError.productNotFound(product)
            }
            try StockRule.check(product, name: name, available: stock, ordered: quantity)
            lines.append(OrderLine(productID: product, productName: name, unitPrice: price, quantity: quantity))
        }
        let pricing = try OrderPricing(lines: lines, coupon: coupon)
        let (total, discount) = (pricing.total, pricing.discount)
        if status == .paid { try BalancePolicy.standard.checkPayment(pricing.amountDue, balance: balance) }

        // Stock: one guarded statement per line, in product-id order.
        for line in lines {
            try db.execute(
                direct: "UPDATE products SET stock = stock - ?1, sold = sold + ?1 WHERE id = ?2 AND stock >= ?1",
                line.quantity,
                line.productID.rawValue
            )
            guard db.directChanges == 1 else {
                let stock =
                    try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT stock FROM products WHERE id = ?"),
                        arguments: [line.productID.rawValue]
                    ) ?? 0
                throw StockRule.outOfStock(
                    line.productID,
                    name: line.productName,
                    available: stock,
                    ordered: line.quantity
                )
            }
        }
        try db.execute(
            direct: """
                INSERT INTO orders (user_id, status, total, discount, coupon_id, created_at, updated_at, expires_at, paid_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            user,
            status.rawValue,
            total,
            discount,
            request.couponID?.rawValue,
            command.at,
            command.at,
            command.expiresAt,
            status == .paid ? command.at : nil
        )
        let orderID = OrderID(db.lastInsertedRowID)
        for line in lines {
            try db.execute(
                direct: """
                    INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity) VALUES (?, ?, ?, ?, ?)
                    """,
                orderID.rawValue,
                line.productID.rawValue,
                line.productName,
                line.unitPrice,
                line.quantity
            )
        }
        if let couponID = request.couponID {
            // Held by one order at a time: taking the hold is the guard.
            try db.run(
                "UPDATE coupons SET status = '\(StoredCoupon.held)', order_id = ?, used_at = ? WHERE id = ? AND status = '\(StoredCoupon.free)'",
                arguments: [orderID.rawValue, command.at, couponID.rawValue]
            )
            guard db.changesCount == 1 else {
                throw CommerceError(
                    .couponAlreadyUsed,
                    "coupon \(couponID) is held by another order",
                    details: ["coupon_id": "\(couponID)"]
                )
            }
        }
        var order = Order(
            id: orderID,
            userID: request.userID,
            status: status,
            lines: lines,
            total: total,
            discount: discount,
            couponID: request.couponID,
            createdAt: command.at,
            expiresAt: command.expiresAt
        )
        let balanceAfter: Won
        if status == .paid {
            balanceAfter = try self.pay(db, order, at: command.at, traceParent: command.traceParent)
            order.expiresAt = nil
        } else {
            balanceAfter = balance
        }
        if let key = command.idempotencyKey {
            try db.run(
                """
                INSERT INTO order_requests (user_id, key, fingerprint, order_id, balance_after) VALUES (?, ?, ?, ?, ?)
                """,
                arguments: [user, key, request.fingerprint, orderID.rawValue, balanceAfter]
            )
        }
        return OrderReceipt(order: order, balanceAfter: balanceAfter, replayed: false)
    }

    /// Debits the balance (guarded: never below zero), writes the USE entry, the payment and the
    /// ranking's rollups for the day of payment. The caller has made the order PAID (with `paid_at`).
    func pay(_ db: Database, _ order: Order, at: UnixMillis, traceParent: String?) throws -> Won {
        let amount = order.amountPaid
        // The balance is read back with a SELECT rather than RETURNING, for which SQLite fills a
        // transient b-tree on every call; the transaction holds the write lock, so it reads the
        // value this UPDATE left.
        try db.execute(
            direct: "UPDATE users SET balance = balance - ?1 WHERE id = ?2 AND balance >= ?1",
            amount,
            order.userID.rawValue
        )
        guard db.directChanges == 1, let balanceAfter = try Self.balance(db, of: order.userID) else {
            throw BalancePolicy.insufficientBalance(try Self.balance(db, of: order.userID) ?? 0, required: amount)
        }
        let entryID = try Self.appendEntry(
            db,
            user: order.userID.rawValue,
            type: .use,
            amount: -amount,
            balanceAfter: balanceAfter,
            at: at
        )
        try db.execute(
            direct:
                "INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (?, 'PAYMENT', ?, ?, ?)",
            order.id.rawValue,
            amount,
            entryID,
            at
        )
        try Self.appendEvent(db, .orderPaid, order: order, amount: amount, at: at, traceParent: traceParent)
        let day = self.configuration.calendar.day(containing: at).rawValue
        for line in order.lines {
            // The ranking's rollup, in the same transaction as the sale.
            try db.execute(
                direct: """
                    INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (?, ?, ?, 1)
                    ON CONFLICT (day, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + 1
                    """,
                day,
                line.productID.rawValue,
                line.quantity
            )
        }
        return balanceAfter
    }

    public func payOrder(
        _ id: OrderID,
        user: UserID,
        at: UnixMillis,
        traceParent: String?
    ) -> PendingWrite<OrderReceipt> {
        self.transaction { db in
            let order = try Self.ownedOrder(db, id, user: user)
            let paid = try order.paying(at: at)
            // A short balance is found before anything changes, like every refusal.
            try BalancePolicy.standard.checkPayment(order.amountPaid, balance: try Self.balance(db, of: user) ?? 0)
            try Self.move(db, order, to: paid.status, at: at, paidAt: at)
            let balanceAfter = try self.pay(db, paid, at: at, traceParent: traceParent)
            return OrderReceipt(order: paid, balanceAfter: balanceAfter, replayed: false)
        }
    }

    public func refundOrder(
        _ id: OrderID,
        user: UserID,
        at: UnixMillis,
        traceParent: String?
    ) -> PendingWrite<RefundReceipt> {
        self.transaction { db in
            var order = try Self.ownedOrder(db, id, user: user)
            let cancellation = try order.cancellation(at: at)
            try Self.move(db, order, to: cancellation.newStatus, at: at)
            try Self.returnStockAndCoupon(db, order)
            order.status = cancellation.newStatus
            order.expiresAt = nil
            guard case .refund(let refund) = cancellation else {
                // Nothing was paid: the reservation is released.
                return RefundReceipt(order: order, refunded: 0, balanceAfter: try Self.balance(db, of: user) ?? 0)
            }
            let paidAt = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(paid_at, created_at) FROM orders WHERE id = ?"),
                arguments: [id.rawValue]
            )!
            let day = self.configuration.calendar.day(containing: paidAt).rawValue
            for line in order.lines {
                // The sale leaves the ranking of the day it was paid.
                try db.run(
                    "UPDATE product_daily_sales SET quantity = quantity - ?, orders = orders - 1 WHERE day = ? AND product_id = ?",
                    arguments: [line.quantity, day, line.productID.rawValue]
                )
            }
            // A refund restores what was paid; it may take a balance above the charge ceiling, which only limits charges.
            try db.execute(direct: "UPDATE users SET balance = balance + ? WHERE id = ?", refund, user.rawValue)
            let balance = try Self.balance(db, of: user)!
            let entryID = try Self.appendEntry(
                db,
                user: user.rawValue,
                type: .refund,
                amount: refund,
                balanceAfter: balance,
                at: at
            )
            try db.run(
                "INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (?, 'REFUND', ?, ?, ?)",
                arguments: [id.rawValue, refund, entryID, at]
            )
            try Self.appendEvent(
                db,
                .orderRefunded,
                order: order,
                amount: refund,
                at: at,
                traceParent: traceParent
            )
            return RefundReceipt(order: order, refunded: refund, balanceAfter: balance)
        }
    }

    /// The literal the partial index `orders_pending_by_expiry` is declared with: SQLite uses a
    /// partial index only for a query that repeats its condition, not for a bound parameter.
    static let pending = OrderStatus.pendingPayment.rawValue

    public func expireDueOrders(at: UnixMillis, limit: Int) -> PendingWrite<Int> {
        // Every instance sweeps each second: an idle sweep takes no write lock.
        let due: (Database) throws -> Bool = { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT 1 FROM orders WHERE status = '\(Self.pending)' AND expires_at <= ? LIMIT 1"
                ),
                arguments: [at]
            ) != nil
        }
        return self.transaction(ifDue: due, otherwise: 0) { db in
            let due = try Self.dueOrders(db, at: at, limit: limit)
            for order in due where order.isDue(at: at) {
                try Self.move(db, order, to: .expired, at: at)
                try Self.returnStockAndCoupon(db, order)
            }
            return due.count
        }
    }

    /// Writes a move of the state machine, guarded on the status it was read in: of writers racing
    /// in any process, one moves the order and the others are refused.
    static func move(
        _ db: Database,
        _ order: Order,
        to next: OrderStatus,
        at: UnixMillis,
        paidAt: UnixMillis? = nil
    ) throws {
        precondition(order.status.canMove(to: next), "the domain allowed \(order.status) → \(next)")
        if let paidAt {
            try db.execute(
                direct: "UPDATE orders SET status = ?, updated_at = ?, paid_at = ? WHERE id = ? AND status = ?",
                next.rawValue,
                at,
                paidAt,
                order.id.rawValue,
                order.status.rawValue
            )
        } else {
            try db.execute(
                direct: "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                next.rawValue,
                at,
                order.id.rawValue,
                order.status.rawValue
            )
        }
        guard db.changesCount == 1 else {
            throw CommerceError(
                next == .paid ? .orderNotPayable : .orderNotCancellable,
                "order \(order.id) is no longer \(order.status.rawValue)",
                details: ["order_id": "\(order.id)"]
            )
        }
    }

    /// Puts an order's units back on the shelf (counted as returned) and makes its coupon AVAILABLE
    /// again: what expiry, cancel and refund share.
    static func returnStockAndCoupon(_ db: Database, _ order: Order) throws {
        for line in order.lines {
            try db.execute(
                direct: "UPDATE products SET stock = stock + ?1, returned = returned + ?1 WHERE id = ?2",
                line.quantity,
                line.productID.rawValue
            )
        }
        if let coupon = order.couponID {
            try db.execute(
                composed:
                    "UPDATE coupons SET status = '\(StoredCoupon.free)', order_id = NULL, used_at = NULL WHERE id = ? AND order_id = ?",
                coupon.rawValue,
                order.id.rawValue
            )
        }
    }

    /// A user's balance inside the caller's transaction; nil for an unknown user.
    static func balance(_ db: Database, of user: UserID) throws -> Won? {
        try db.fetchFirst(direct: "SELECT balance FROM users WHERE id = ?", user.rawValue, read: { $0.int64(0) })
    }
}

/// How `coupons.status` stores a coupon's hold: free, or held by the order in `order_id` (whether
/// that order is paid decides RESERVED or USED, in the domain's ``CouponHold``).
enum StoredCoupon {
    static let free = "AVAILABLE"
    static let held = "USED"
}
