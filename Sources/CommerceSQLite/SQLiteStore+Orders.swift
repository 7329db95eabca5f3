import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: OrderStore {
    public func placeOrder(_ command: PlaceOrderCommand) throws -> OrderReceipt {
        try self.transaction { db in
            if let replay = try Self.replayedOrder(db, user: command.request.userID, key: command.idempotencyKey,
                                                   fingerprint: command.request.fingerprint) {
                return replay
            }
            return try Self.placeOrder(db, command)
        }
    }

    /// The first order placed under `key`, if any; a different fingerprint under it is refused.
    /// `fingerprint` nil accepts any (a cart checkout: the cart is empty after the first one).
    static func replayedOrder(_ db: Database, user: UserID, key: String?, fingerprint: String?) throws -> OrderReceipt? {
        guard let key, let first = try Row.fetchOne(db, sql: """
            SELECT fingerprint, order_id, balance_after FROM order_requests WHERE user_id = ? AND key = ?
            """, arguments: [user.rawValue, key])
        else { return nil }
        if let fingerprint, (first["fingerprint"] as String) != fingerprint {
            throw CommerceError(.alreadyExists, .idempotencyKeyReused,
                                "idempotency key was first used for a different order (order \(first["order_id"] as Int64))",
                                details: ["order_id": "\(first["order_id"] as Int64)"])
        }
        let order = try Self.loadOrder(db, OrderID(first["order_id"]))!
        return OrderReceipt(order: order, balanceAfter: first["balance_after"], replayed: true)
    }

    /// The body of an order, inside the caller's transaction (PlaceOrder, CheckoutCart).
    static func placeOrder(_ db: Database, _ command: PlaceOrderCommand) throws -> OrderReceipt {
        do {
            let request = command.request
            let user = request.userID.rawValue
            guard let balance = try Int64.fetchOne(db, sql: "SELECT balance FROM users WHERE id = ?", arguments: [user]) else {
                throw CommerceError.userNotFound(request.userID)
            }

            // Stock: one guarded statement per line, in product-id order.
            var lines: [OrderLine] = []
            for (product, quantity) in request.lines {
                guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                    UPDATE products SET stock = stock - :quantity, sold = sold + :quantity
                    WHERE id = :id AND stock >= :quantity
                    RETURNING name, price
                    """), arguments: ["quantity": quantity, "id": product.rawValue])
                else {
                    guard let row = try Row.fetchOne(db, sql: "SELECT name, stock FROM products WHERE id = ?", arguments: [product.rawValue]) else {
                        throw CommerceError.productNotFound(product)
                    }
                    let name: String = row["name"], stock: Int64 = row["stock"]
                    throw CommerceError(.failedPrecondition, .outOfStock,
                                        "\"\(name)\" has \(stock) in stock, \(quantity) ordered",
                                        details: ["product_id": "\(product)", "product_name": name, "available": "\(stock)"])
                }
                lines.append(OrderLine(productID: product, productName: row["name"], unitPrice: row["price"], quantity: quantity))
            }
            let (total, overflow) = lines.reduce((Won(0), false)) { partial, line in
                let (product, o1) = line.unitPrice.multipliedReportingOverflow(by: line.quantity)
                let (sum, o2) = partial.0.addingReportingOverflow(product)
                return (sum, partial.1 || o1 || o2)
            }
            guard !overflow else {
                throw CommerceError(.invalidArgument, .invalidQuantity, "the order total is too large")
            }

            // Coupon: owner, state and window, then used once (guarded).
            var discount: Won = 0
            if let couponID = request.couponID {
                let coupon = try Self.usableCoupon(db, couponID, user: request.userID, at: command.at)
                discount = coupon.campaign.discount.amount(on: total)
            }
            let paid = total - discount
            guard let balanceAfter = try Int64.fetchOne(db.cachedStatement(sql: """
                UPDATE users SET balance = balance - :paid WHERE id = :user AND balance >= :paid RETURNING balance
                """), arguments: ["paid": paid, "user": user])
            else {
                throw CommerceError(.failedPrecondition, .insufficientBalance,
                                    "the order costs \(paid) won, the balance is \(balance) won",
                                    details: ["balance": "\(balance)", "required": "\(paid)"])
            }
            try db.execute(sql: """
                INSERT INTO orders (user_id, status, total, discount, coupon_id, created_at, updated_at) VALUES (?, 'PAID', ?, ?, ?, ?, ?)
                """, arguments: [user, total, discount, request.couponID?.rawValue, command.at, command.at])
            let orderID = OrderID(db.lastInsertedRowID)
            let day = SalesDay(containing: command.at).rawValue
            for line in lines {
                try db.cachedStatement(sql: """
                    INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity) VALUES (?, ?, ?, ?, ?)
                    """).execute(arguments: [orderID.rawValue, line.productID.rawValue, line.productName, line.unitPrice, line.quantity])
                // The ranking's rollup, in the same transaction as the sale.
                try db.cachedStatement(sql: """
                    INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (?, ?, ?, 1)
                    ON CONFLICT (day, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + 1
                    """).execute(arguments: [day, line.productID.rawValue, line.quantity])
            }
            if let couponID = request.couponID {
                try db.execute(sql: "UPDATE coupons SET status = 'USED', order_id = ?, used_at = ? WHERE id = ? AND status = 'AVAILABLE'",
                               arguments: [orderID.rawValue, command.at, couponID.rawValue])
                guard db.changesCount == 1 else {
                    throw CommerceError(.failedPrecondition, .couponAlreadyUsed, "coupon \(couponID) has been used")
                }
            }
            let entryID = try Self.appendEntry(db, user: user, type: .use, amount: -paid, balanceAfter: balanceAfter, at: command.at)
            try db.execute(sql: """
                INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (?, 'PAYMENT', ?, ?, ?)
                """, arguments: [orderID.rawValue, paid, entryID, command.at])
            if let key = command.idempotencyKey {
                try db.execute(sql: """
                    INSERT INTO order_requests (user_id, key, fingerprint, order_id, balance_after) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [user, key, request.fingerprint, orderID.rawValue, balanceAfter])
            }
            let order = Order(id: orderID, userID: request.userID, status: .paid, lines: lines, total: total, discount: discount,
                              couponID: request.couponID, createdAt: command.at)
            return OrderReceipt(order: order, balanceAfter: balanceAfter, replayed: false)
        }
    }

    public func refundOrder(_ id: OrderID, user: UserID, at: UnixMillis) throws -> RefundReceipt {
        try self.transaction { db in
            guard var order = try Self.loadOrder(db, id) else {
                throw CommerceError(.notFound, .orderNotFound, "no order with id \(id)", details: ["order_id": "\(id)"])
            }
            guard order.userID == user else {
                throw CommerceError(.permissionDenied, .orderNotOwned, "order \(id) belongs to another user", details: ["order_id": "\(id)"])
            }
            // The status change is the guard: only one refund can move PAID to REFUNDED.
            try db.execute(sql: "UPDATE orders SET status = 'REFUNDED', updated_at = ? WHERE id = ? AND status = 'PAID'",
                           arguments: [at, id.rawValue])
            guard db.changesCount == 1 else {
                throw CommerceError(.failedPrecondition, .orderNotCancellable, "order \(id) is \(order.status.rawValue), only PAID orders can be cancelled",
                                    details: ["order_id": "\(id)", "status": order.status.rawValue])
            }
            let day = SalesDay(containing: order.createdAt).rawValue
            for line in order.lines {
                try db.execute(sql: "UPDATE products SET stock = stock + ?, returned = returned + ? WHERE id = ?",
                               arguments: [line.quantity, line.quantity, line.productID.rawValue])
                // The sale leaves the ranking of the day it was made.
                try db.execute(sql: "UPDATE product_daily_sales SET quantity = quantity - ?, orders = orders - 1 WHERE day = ? AND product_id = ?",
                               arguments: [line.quantity, day, line.productID.rawValue])
            }
            let refund = order.amountPaid
            // A refund restores what was paid; it may take a balance above the charge ceiling, which
            // only limits charges.
            let balance = try Int64.fetchOne(db, sql: "UPDATE users SET balance = balance + ? WHERE id = ? RETURNING balance",
                                             arguments: [refund, user.rawValue])!
            let entryID = try Self.appendEntry(db, user: user.rawValue, type: .refund, amount: refund, balanceAfter: balance, at: at)
            try db.execute(sql: "INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (?, 'REFUND', ?, ?, ?)",
                           arguments: [id.rawValue, refund, entryID, at])
            if let coupon = order.couponID {
                try db.execute(sql: "UPDATE coupons SET status = 'AVAILABLE', order_id = NULL, used_at = NULL WHERE id = ? AND order_id = ?",
                               arguments: [coupon.rawValue, id.rawValue])
            }
            order.status = .refunded
            return RefundReceipt(order: order, refunded: refund, balanceAfter: balance)
        }
    }

    public func order(_ id: OrderID) async throws -> Order? {
        try await self.read { db in try Self.loadOrder(db, id) }
    }

    public func orders(of user: UserID, page: PageQuery) async throws -> Page<Order>? {
        try await self.read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [user.rawValue]) != nil else { return nil }
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM orders WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                                         arguments: [user.rawValue, page.after ?? Int64.max, page.size + 1])
            let orders = try ids.prefix(page.size).compactMap { try Self.loadOrder(db, OrderID($0)) }
            let next = ids.count > page.size ? orders.last.map { PageQuery.token(after: $0.id.rawValue) } : nil
            return Page(items: orders, nextToken: next)
        }
    }

    static func loadOrder(_ db: Database, _ id: OrderID) throws -> Order? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, user_id, status, total, discount, coupon_id, created_at FROM orders WHERE id = ?
            """, arguments: [id.rawValue])
        else { return nil }
        let lines = try Row.fetchAll(db, sql: """
            SELECT product_id, product_name, unit_price, quantity FROM order_lines WHERE order_id = ? ORDER BY product_id
            """, arguments: [id.rawValue]).map {
            OrderLine(productID: ProductID($0["product_id"]), productName: $0["product_name"], unitPrice: $0["unit_price"], quantity: $0["quantity"])
        }
        return Order(id: id, userID: UserID(row["user_id"]), status: OrderStatus(rawValue: row["status"]) ?? .paid, lines: lines,
                     total: row["total"], discount: row["discount"], couponID: (row["coupon_id"] as Int64?).map { CouponID($0) },
                     createdAt: row["created_at"])
    }
}
