import CommerceDomain
import CommerceUseCases
import PostgresNIO

/// Reading orders: one by id (locked when a move decides on it), a user's and the shop's pages,
/// and batches by id, each with its lines.
extension PostgresStore {
    /// The order, locked until the transaction ends: a move of its state machine decides on the
    /// status it reads, so a concurrent move (a payment racing a cancel from another instance) is
    /// waited for and seen, never read stale and then refused by the guard.
    static func ownedOrder(_ session: Session, _ id: OrderID, user: UserID) async throws -> Order {
        guard let order = try await Self.loadOrder(session, id, forUpdate: true) else {
            throw Order.notFound(id)
        }
        try order.checkOwner(user)
        return order
    }

    public func order(_ id: OrderID) async throws -> Order? {
        try await self.read { session in try await Self.loadOrder(session, id) }
    }

    public func orders(of user: UserID, page: PageQuery) async throws -> Page<Order>? {
        try await self.read { session in
            guard try await Self.userExists(session, user) else { return nil }
            let ids = try await session.all(
                """
                SELECT id FROM orders WHERE user_id = \(user.rawValue) AND id < \(page.after ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(page.size + 1))
                """,
                as: Int64.self
            )
            let orders = try await Self.loadOrders(session, Array(ids.prefix(page.size)))
            return Page(items: orders, nextAfter: ids.count > page.size ? orders.last?.id.rawValue : nil)
        }
    }

    public func recentOrders(page: PageQuery) async throws -> Page<Order> {
        try await self.read { session in
            let ids = try await session.all(
                """
                SELECT id FROM orders WHERE id < \(page.after ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(page.size + 1))
                """,
                as: Int64.self
            )
            let orders = try await Self.loadOrders(session, Array(ids.prefix(page.size)))
            return Page(items: orders, nextAfter: ids.count > page.size ? orders.last?.id.rawValue : nil)
        }
    }

    static func loadOrder(_ session: Session, _ id: OrderID, forUpdate: Bool = false) async throws -> Order? {
        try await Self.loadOrders(session, [id.rawValue], forUpdate: forUpdate).first
    }

    /// The orders of `ids` that exist, each with its lines in product order, in the order of
    /// `ids`: one round trip for the lot (a page, the sweep's batch) instead of two per order.
    /// `forUpdate` locks the orders' rows (not their lines) until the transaction ends.
    static func loadOrders(_ session: Session, _ ids: [Int64], forUpdate: Bool = false) async throws -> [Order] {
        guard !ids.isEmpty else { return [] }
        var orders: [Int64: Order] = [:]
        let rows = try await session.all(
            """
            SELECT o.id, o.user_id, o.status, o.total, o.discount, o.coupon_id, o.created_at, o.expires_at,
                   l.product_id, l.product_name, l.unit_price, l.quantity
            FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
            WHERE o.id = ANY(\(ids))
            ORDER BY o.id, l.product_id
            \(unescaped: forUpdate ? "FOR UPDATE OF o" : "")
            """,
            as: (Int64, Int64, String, Int64, Int64, Int64?, Int64, Int64?, Int64?, String?, Int64?, Int64?).self
        )
        for row in rows {
            if orders[row.0] == nil {
                let status = try OrderStatus(stored: row.2)
                orders[row.0] = Order(
                    id: OrderID(row.0),
                    userID: UserID(row.1),
                    status: status,
                    lines: [],
                    total: row.3,
                    discount: row.4,
                    couponID: row.5.map { CouponID($0) },
                    createdAt: row.6,
                    expiresAt: status == .pendingPayment ? row.7 : nil
                )
            }
            // Every order has lines; one without (none here writes such a row) is still listed.
            if let product = row.8, let name = row.9, let price = row.10, let quantity = row.11 {
                orders[row.0]?.lines.append(
                    OrderLine(productID: ProductID(product), productName: name, unitPrice: price, quantity: quantity)
                )
            }
        }
        return ids.compactMap { orders[$0] }
    }
}
