import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: CartStore {
    public func changeCart(_ user: UserID, _ change: CartChange, at: UnixMillis) -> PendingWrite<Cart> {
        self.transaction { db in
            guard try Self.userExists(db, user) else {
                throw CommerceError.userNotFound(user)
            }
            switch change {
            case .remove(let product):
                try db.run(
                    "DELETE FROM cart_items WHERE user_id = ? AND product_id = ?",
                    arguments: [user.rawValue, product.rawValue]
                )
                guard db.changesCount == 1 else {
                    throw CommerceError(
                        .notInCart,
                        "product \(product) is not in the cart",
                        details: ["product_id": "\(product)"]
                    )
                }
            case .add(let product, let quantity), .set(let product, let quantity):
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT name, stock FROM products WHERE id = ?"),
                        arguments: [product.rawValue]
                    )
                else {
                    throw CommerceError.productNotFound(product)
                }
                let current = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?"),
                    arguments: [user.rawValue, product.rawValue]
                )
                if case .set = change, current == nil {
                    throw CommerceError(
                        .notInCart,
                        "product \(product) is not in the cart",
                        details: ["product_id": "\(product)"]
                    )
                }
                let wanted: Int64 = if case .add = change { (current ?? 0) + quantity } else { quantity }
                guard wanted <= OrderRequest.maximumQuantity else {
                    throw CommerceError(
                        .invalidQuantity,
                        "the cart would hold \(wanted) of product \(product), more than \(OrderRequest.maximumQuantity)",
                        details: ["product_id": "\(product)"]
                    )
                }
                let name: String = row["name"]
                let stock: Int64 = row["stock"]
                guard wanted <= stock else {
                    throw CommerceError(
                        .outOfStock,
                        "\"\(name)\" has \(stock) in stock, the cart would hold \(wanted)",
                        details: ["product_id": "\(product)", "product_name": name, "available": "\(stock)"]
                    )
                }
                if current == nil {
                    let lines =
                        try Int.fetchOne(
                            db.cachedStatement(sql: "SELECT COUNT(*) FROM cart_items WHERE user_id = ?"),
                            arguments: [user.rawValue]
                        ) ?? 0
                    guard lines < Cart.maximumLines else {
                        throw CommerceError(.cartFull, "a cart holds at most \(Cart.maximumLines) products")
                    }
                }
                try db.run(
                    """
                    INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity
                    """,
                    arguments: [user.rawValue, product.rawValue, wanted, at]
                )
            }
            return try Self.loadCart(db, user)
        }
    }

    public func cart(of user: UserID) async throws -> Cart? {
        try await self.read { db in
            guard try Self.userExists(db, user) else { return nil }
            return try Self.loadCart(db, user)
        }
    }

    public func checkoutCart(
        _ user: UserID,
        couponID: CouponID?,
        idempotencyKey: String?,
        at: UnixMillis
    ) -> PendingWrite<OrderReceipt> {
        self.transaction { db in
            // A repeat of a checkout finds the cart already empty: the key alone identifies it.
            if let key = idempotencyKey, let replay = try Self.replayedOrder(db, user: user, key: key, fingerprint: nil)
            {
                return replay
            }
            guard try Self.userExists(db, user) else {
                throw CommerceError.userNotFound(user)
            }
            let cart = try Self.loadCart(db, user)
            guard !cart.lines.isEmpty else { throw CommerceError(.emptyCart, "the cart is empty") }
            let request = try OrderRequest.validate(
                userID: user,
                items: cart.lines.map { ($0.productID, $0.quantity) },
                couponID: couponID
            )
            let receipt = try self.placeOrder(
                db,
                PlaceOrderCommand(request: request, idempotencyKey: idempotencyKey, at: at)
            )
            try db.run("DELETE FROM cart_items WHERE user_id = ?", arguments: [user.rawValue])
            return receipt
        }
    }

    static func loadCart(_ db: Database, _ user: UserID) throws -> Cart {
        let lines = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT c.product_id, p.name, p.price, c.quantity, p.stock
                    FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.user_id = ? ORDER BY c.product_id
                    """
            ),
            arguments: [user.rawValue]
        ).map {
            CartLine(
                productID: ProductID($0["product_id"]),
                productName: $0["name"],
                unitPrice: $0["price"],
                quantity: $0["quantity"],
                stock: $0["stock"]
            )
        }
        return Cart(userID: user, lines: lines)
    }
}
