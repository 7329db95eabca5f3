import CommerceDomain
import CommerceUseCases
import GRDB

/// Reading orders: one by id, a user's and the shop's pages, and the expiry sweep's batch of due
/// ones, each with its lines, by column position.
extension SQLiteStore {
    static func ownedOrder(_ db: Database, _ id: OrderID, user: UserID) throws -> Order {
        guard let order = try Self.loadOrder(db, id) else {
            throw Order.notFound(id)
        }
        try order.checkOwner(user)
        return order
    }

    public func order(_ id: OrderID) async throws -> Order? {
        try await self.read { db in try Self.loadOrder(db, id) }
    }

    public func orders(of user: UserID, page: PageQuery) async throws -> Page<Order>? {
        try await self.read { db in
            guard try Self.userExists(db, user) else { return nil }
            let orders = try Self.ordersWithLines(
                db,
                selecting: "SELECT id FROM orders WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                user.rawValue,
                page.after ?? Int64.max,
                Int64(page.size + 1)
            )
            return Self.newestFirst(orders, size: page.size)
        }
    }

    public func recentOrders(page: PageQuery) async throws -> Page<Order> {
        try await self.read { db in
            let orders = try Self.ordersWithLines(
                db,
                selecting: "SELECT id FROM orders WHERE id < ? ORDER BY id DESC LIMIT ?",
                page.after ?? Int64.max,
                Int64(page.size + 1)
            )
            return Self.newestFirst(orders, size: page.size)
        }
    }

    /// A page of `size` from up to `size + 1` orders read for it, newest first; the one past the
    /// page only says that another page follows.
    private static func newestFirst(_ orders: [Order], size: Int) -> Page<Order> {
        let sorted = orders.sorted { $0.id > $1.id }
        let items = Array(sorted.prefix(size))
        return Page(items: items, nextAfter: sorted.count > size ? items.last.map { $0.id.rawValue } : nil)
    }

    /// The columns the row-reading `order(_:)` below expects, first in a statement.
    private static let orderColumnNames = [
        "id", "user_id", "status", "total", "discount", "coupon_id", "created_at", "expires_at",
    ]
    private static let orderColumns = SQLiteStore.orderColumnNames.joined(separator: ", ")
    /// ``orderColumns`` of a join's orders `o`.
    private static let joinedOrderColumns = SQLiteStore.orderColumnNames.map { "o.\($0)" }.joined(separator: ", ")

    /// An order without its lines from a row that starts with ``orderColumns``.
    private static func order(_ row: DirectRow) throws -> Order {
        let status = try OrderStatus(stored: row.string(2))
        return Order(
            id: OrderID(row.int64(0)),
            userID: UserID(row.int64(1)),
            status: status,
            lines: [],
            total: row.int64(3),
            discount: row.int64(4),
            couponID: row.optionalInt64(5).map { CouponID($0) },
            createdAt: row.int64(6),
            expiresAt: status == .pendingPayment ? row.optionalInt64(7) : nil
        )
    }

    /// An order line from a row's columns `first…first+3`: product, name, unit price, quantity.
    private static func line(_ row: DirectRow, from first: Int32) -> OrderLine {
        OrderLine(
            productID: ProductID(row.int64(first)),
            productName: row.string(first + 1),
            unitPrice: row.int64(first + 2),
            quantity: row.int64(first + 3)
        )
    }

    /// An order and its lines, read by column position: every path that moves or lists orders
    /// (pay, cancel, refund, the lists) reads through here, and GRDB's rows look columns up by
    /// name, lower-casing it each time.
    static func loadOrder(_ db: Database, _ id: OrderID) throws -> Order? {
        var found: Order?
        try db.forEachRow(composed: "SELECT \(Self.orderColumns) FROM orders WHERE id = ?", id.rawValue) { row in
            found = try Self.order(row)
        }
        guard var order = found else { return nil }
        try db.forEachRow(
            direct:
                "SELECT product_id, product_name, unit_price, quantity FROM order_lines WHERE order_id = ? ORDER BY product_id",
            id.rawValue
        ) { row in
            order.lines.append(Self.line(row, from: 0))
        }
        return order
    }

    /// The first `limit` unpaid orders whose time is up at `at`, with their lines.
    static func dueOrders(_ db: Database, at: UnixMillis, limit: Int) throws -> [Order] {
        try Self.ordersWithLines(
            db,
            selecting:
                "SELECT id FROM orders WHERE status = '\(Self.pending)' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
            at,
            Int64(limit)
        )
    }

    /// The orders whose ids `selection` picks (a `SELECT id FROM orders …` taking `values`), each
    /// with its lines in product order, in no promised order: one statement for the lot, whose
    /// cursors step to neighbouring rows, instead of two statements per order, each descending its
    /// tree from the root.
    private static func ordersWithLines<each Value: DirectBinding>(
        _ db: Database,
        selecting selection: String,
        _ values: repeat each Value
    ) throws -> [Order] {
        var orders: [Order] = []
        var position: [Int64: Int] = [:]
        try db.forEachRow(
            composed: """
                SELECT \(Self.joinedOrderColumns),
                       l.product_id, l.product_name, l.unit_price, l.quantity
                FROM (\(selection)) AS picked
                JOIN orders o ON o.id = picked.id
                LEFT JOIN order_lines l ON l.order_id = o.id
                """,
            repeat each values
        ) { row in
            let id = row.int64(0)
            let index: Int
            if let known = position[id] {
                index = known
            } else {
                index = orders.count
                position[id] = index
                orders.append(try Self.order(row))
            }
            // Every order has lines; one without (none here writes such a row) is still listed.
            if row.optionalInt64(8) != nil { orders[index].lines.append(Self.line(row, from: 8)) }
        }
        for index in orders.indices { orders[index].lines.sort { $0.productID < $1.productID } }
        return orders
    }
}
