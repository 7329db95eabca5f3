import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: OrderStore {
    /// Orders take the lane of their first product, not their buyer's: orders of a hot product then
    /// commit in one group instead of every lane's group queueing on its row; a user's orders of
    /// different products are concurrent calls, which promise no order to each other.
    public func placeOrder(_ command: PlaceOrderCommand) -> PendingWrite<OrderReceipt> {
        let request = command.request
        let locks = RowLocks(products: Set(request.lines.map(\.productID.rawValue)), users: [request.userID.rawValue])
        let inputs = GroupedInputs(Self.inputsRequest(command))
        return self.transaction(key: request.lines[0].productID.rawValue, locks: locks, inputs: inputs) { session in
            try await self.placeOrder(session, command, grouped: inputs.take())
        }
    }

    static func inputsRequest(_ command: PlaceOrderCommand) -> OrderInputsRequest {
        OrderInputsRequest(
            user: command.request.userID.rawValue,
            products: command.request.lines.map(\.productID.rawValue),
            idempotencyKey: command.idempotencyKey
        )
    }

    /// The body of an order, inside the caller's transaction (PlaceOrder, CreateOrder, CheckoutCart),
    /// in two round trips: one read of what the domain decides on (refusals are found there, before
    /// any change, as in the SQLite store), then one statement of guarded changes
    /// (``OrderWritesStatement``), which decides whatever another lane or instance did meanwhile.
    /// In a group the read was made for all its orders at once (`grouped`), with the group's rows
    /// locked but before the orders ahead of it in the group changed them: a refusal decided on it
    /// is decided again on a read of this order's own, and so is a product whose price or name
    /// changed between read and write.
    func placeOrder(
        _ session: Session,
        _ command: PlaceOrderCommand,
        grouped: OrderInputsRequest.Row? = nil
    ) async throws -> OrderReceipt {
        var grouped = grouped
        for attempt in 1... {
            let inputs: OrderInputsRequest.Row
            if let read = grouped {
                inputs = read
            } else {
                guard
                    let read = try await session.rows(OrderInputsStatement(requests: [Self.inputsRequest(command)]))
                        .first?.inputs
                else {
                    throw CommerceError.userNotFound(command.request.userID)
                }
                inputs = read
            }
            do {
                return try await self.placeOrder(session, command, inputs: inputs)
            } catch
                where !session.wrote && !session.statementFailed
                && (grouped != nil && error is CommerceError || error is PostgresErrors.InputsChanged && attempt < 3)
            {
                grouped = nil
            }
        }
        preconditionFailure("unreachable")
    }

    private func placeOrder(
        _ session: Session,
        _ command: PlaceOrderCommand,
        inputs: OrderInputsRequest.Row
    ) async throws -> OrderReceipt {
        let request = command.request
        let user = request.userID.rawValue
        let status: OrderStatus = command.expiresAt == nil ? .paid : .pendingPayment
        if let first = inputs.firstOrder, let fingerprint = inputs.fingerprint,
            let balanceAfter = inputs.firstBalanceAfter
        {
            if let replay = try await Self.replay(
                session,
                key: (fingerprint, first, balanceAfter),
                fingerprint: request.fingerprint
            ) {
                return replay
            }
        }
        guard let newOrderID = inputs.newOrderID else {
            throw CommerceError(.orderNotFound, "the order first placed under this idempotency key is gone")
        }
        var coupon: Coupon?
        if let couponID = request.couponID {
            coupon = try await Self.usableCoupon(session, couponID, user: request.userID, at: command.at)
        }
        var lines: [OrderLine] = []
        for (product, quantity) in request.lines {
            guard let index = inputs.ids.firstIndex(of: product.rawValue) else {
                throw CommerceError.productNotFound(product)
            }
            try StockRule.check(product, name: inputs.names[index], available: inputs.stocks[index], ordered: quantity)
            lines.append(
                OrderLine(
                    productID: product,
                    productName: inputs.names[index],
                    unitPrice: inputs.prices[index],
                    quantity: quantity
                )
            )
        }
        let pricing = try OrderPricing(lines: lines, coupon: coupon)
        if status == .paid { try BalancePolicy.standard.checkPayment(pricing.amountDue, balance: inputs.balance) }

        let orderID = OrderID(newOrderID)
        var order = Order(
            id: orderID,
            userID: request.userID,
            status: status,
            lines: lines,
            total: pricing.total,
            discount: pricing.discount,
            couponID: request.couponID,
            createdAt: command.at,
            expiresAt: command.expiresAt
        )
        let event =
            status == .paid
            ? OrderEvent(
                eventID: OrderEventID.make(at: command.at),
                kind: .orderPaid,
                order: order,
                amount: order.amountPaid,
                at: command.at,
                traceParent: command.traceParent
            )
            : nil
        let outcome = try await session.rows(
            OrderWritesStatement(
                user: user,
                products: lines.map(\.productID.rawValue),
                quantities: lines.map(\.quantity),
                names: lines.map(\.productName),
                prices: lines.map(\.unitPrice),
                order: orderID.rawValue,
                status: status.rawValue,
                total: pricing.total,
                discount: pricing.discount,
                coupon: request.couponID?.rawValue,
                at: command.at,
                expiresAt: command.expiresAt,
                amount: order.amountPaid,
                eventID: event?.eventID,
                payload: event?.json,
                day: self.configuration.calendar.day(containing: command.at).rawValue,
                idempotencyKey: command.idempotencyKey,
                fingerprint: request.fingerprint
            )
        )[0]
        if !outcome.taken.isEmpty { session.markWrote() }
        if let short = lines.first(where: { !outcome.taken.contains($0.productID.rawValue) }) {
            let stock =
                try await session.first(
                    "SELECT stock FROM products WHERE id = \(short.productID.rawValue)",
                    as: Int64.self
                ) ?? 0
            // Enough units: its price or name changed since the read, and the order was priced on what is gone.
            guard stock < short.quantity else { throw PostgresErrors.InputsChanged() }
            throw StockRule.outOfStock(
                short.productID,
                name: short.productName,
                available: stock,
                ordered: short.quantity
            )
        }
        guard outcome.reserved else {
            throw CommerceError(
                .couponAlreadyUsed,
                "coupon \(request.couponID ?? CouponID(0)) is held by another order",
                details: ["coupon_id": "\(request.couponID ?? CouponID(0))"]
            )
        }
        guard outcome.placed else {
            throw BalancePolicy.insufficientBalance(outcome.balanceAfter ?? 0, required: order.amountPaid)
        }
        if status == .paid { order.expiresAt = nil }
        return OrderReceipt(order: order, balanceAfter: outcome.balanceAfter ?? 0, replayed: false)
    }

    /// Debits the balance (guarded: never below zero), writes the USE entry, the payment, the event
    /// and the ranking's rollups for the day of payment. The caller has made the order PAID.
    func pay(_ session: Session, _ order: Order, at: UnixMillis, traceParent: String?) async throws -> Won {
        let amount = order.amountPaid
        guard
            let balanceAfter = try await session.write(
                """
                UPDATE users SET balance = balance - \(amount) WHERE id = \(order.userID.rawValue) AND balance >= \(amount) RETURNING balance
                """,
                returning: Int64.self
            ).first
        else {
            throw BalancePolicy.insufficientBalance(
                try await Self.balance(session, of: order.userID) ?? 0,
                required: amount
            )
        }
        let entryID = try await Self.appendEntry(
            session,
            user: order.userID.rawValue,
            type: .use,
            amount: -amount,
            balanceAfter: balanceAfter,
            at: at
        )
        try await session.write(
            """
            INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (\(order.id.rawValue), 'PAYMENT', \(amount), \(entryID), \(at))
            """
        )
        try await Self.appendEvent(
            session,
            .orderPaid,
            order: order,
            amount: amount,
            at: at,
            traceParent: traceParent
        )
        let day = self.configuration.calendar.day(containing: at).rawValue
        for line in order.lines {
            try await session.write(
                """
                INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (\(day), \(line.productID.rawValue), \(line.quantity), 1)
                ON CONFLICT (day, product_id) DO UPDATE
                SET quantity = product_daily_sales.quantity + excluded.quantity, orders = product_daily_sales.orders + 1
                """
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
        self.transaction(key: user.rawValue, locks: RowLocks(users: [user.rawValue])) { session in
            let order = try await Self.ownedOrder(session, id, user: user)
            let paid = try order.paying(at: at)
            try BalancePolicy.standard.checkPayment(
                order.amountPaid,
                balance: try await Self.balance(session, of: user) ?? 0
            )
            try await Self.move(session, order, to: paid.status, at: at, paidAt: at)
            let balanceAfter = try await self.pay(session, paid, at: at, traceParent: traceParent)
            return OrderReceipt(order: paid, balanceAfter: balanceAfter, replayed: false)
        }
    }

    public func refundOrder(
        _ id: OrderID,
        user: UserID,
        at: UnixMillis,
        traceParent: String?
    ) -> PendingWrite<RefundReceipt> {
        // No declared locks: its products are known only once the order is read, and the buyer's
        // row must come after them.
        self.transaction(key: user.rawValue) { session in
            var order = try await Self.ownedOrder(session, id, user: user)
            let cancellation = try order.cancellation(at: at)
            try await Self.move(session, order, to: cancellation.newStatus, at: at)
            try await Self.returnStockAndCoupon(session, order)
            order.status = cancellation.newStatus
            order.expiresAt = nil
            guard case .refund(let refund) = cancellation else {
                return RefundReceipt(
                    order: order,
                    refunded: 0,
                    balanceAfter: try await Self.balance(session, of: user) ?? 0
                )
            }
            let paidAt = try await session.first(
                "SELECT COALESCE(paid_at, created_at) FROM orders WHERE id = \(id.rawValue)",
                as: Int64.self
            )!
            let day = self.configuration.calendar.day(containing: paidAt).rawValue
            for line in order.lines {
                try await session.write(
                    """
                    UPDATE product_daily_sales SET quantity = quantity - \(line.quantity), orders = orders - 1
                    WHERE day = \(day) AND product_id = \(line.productID.rawValue)
                    """
                )
            }
            let balance = try await session.write(
                "UPDATE users SET balance = balance + \(refund) WHERE id = \(user.rawValue) RETURNING balance",
                returning: Int64.self
            )[0]
            let entryID = try await Self.appendEntry(
                session,
                user: user.rawValue,
                type: .refund,
                amount: refund,
                balanceAfter: balance,
                at: at
            )
            try await session.write(
                """
                INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (\(id.rawValue), 'REFUND', \(refund), \(entryID), \(at))
                """
            )
            try await Self.appendEvent(
                session,
                .orderRefunded,
                order: order,
                amount: refund,
                at: at,
                traceParent: traceParent
            )
            return RefundReceipt(order: order, refunded: refund, balanceAfter: balance)
        }
    }

    public func expireDueOrders(at: UnixMillis, limit: Int) -> PendingWrite<Int> {
        // Every instance sweeps each second: an idle sweep reads, and starts no write transaction.
        self.transaction(
            ifDue: { session in
                try await session.first(
                    "SELECT 1::BIGINT FROM orders WHERE status = 'PENDING_PAYMENT' AND expires_at <= \(at) LIMIT 1",
                    as: Int64.self
                ) != nil
            },
            otherwise: 0
        ) { session in
            // Every instance sweeps: SKIP LOCKED leaves the orders another sweep (or a payment) is
            // deciding to it; the guarded status change makes each expiry happen once regardless.
            let due = try await session.all(
                """
                SELECT id FROM orders WHERE status = 'PENDING_PAYMENT' AND expires_at <= \(at)
                ORDER BY expires_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
                """,
                as: Int64.self
            )
            var expired = 0
            for order in try await Self.loadOrders(session, due) {
                guard order.isDue(at: at) else { continue }
                try await Self.move(session, order, to: .expired, at: at)
                try await Self.returnStockAndCoupon(session, order)
                expired += 1
            }
            return expired
        }
    }

    /// Writes a move of the state machine, guarded on the status it was read in.
    static func move(
        _ session: Session,
        _ order: Order,
        to next: OrderStatus,
        at: UnixMillis,
        paidAt: UnixMillis? = nil
    ) async throws {
        precondition(order.status.canMove(to: next), "the domain allowed \(order.status) → \(next)")
        let moved = try await session.write(
            """
            UPDATE orders SET status = \(next.rawValue), updated_at = \(at), paid_at = COALESCE(\(paidAt), paid_at)
            WHERE id = \(order.id.rawValue) AND status = \(order.status.rawValue) RETURNING id
            """,
            returning: Int64.self
        )
        guard !moved.isEmpty else {
            throw CommerceError(
                next == .paid ? .orderNotPayable : .orderNotCancellable,
                "order \(order.id) is no longer \(order.status.rawValue)",
                details: ["order_id": "\(order.id)"]
            )
        }
    }

    /// Puts an order's units back (counted as returned) and makes its coupon AVAILABLE again.
    static func returnStockAndCoupon(_ session: Session, _ order: Order) async throws {
        for line in order.lines {
            try await session.write(
                """
                UPDATE products SET stock = stock + \(line.quantity), returned = returned + \(line.quantity) WHERE id = \(line.productID.rawValue)
                """
            )
        }
        if let coupon = order.couponID {
            try await session.write(
                """
                UPDATE coupons SET status = 'AVAILABLE', order_id = NULL, used_at = NULL WHERE id = \(coupon.rawValue) AND order_id = \(order.id.rawValue)
                """
            )
        }
    }
}
