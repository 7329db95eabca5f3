import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: CartStore {
    public func changeCart(_ user: UserID, _ change: CartChange, at: UnixMillis) -> PendingWrite<Cart> {
        self.transaction(key: user.rawValue) { session in
            guard try await Self.userExists(session, user) else { throw CommerceError.userNotFound(user) }
            switch change {
            case .remove(let product):
                let removed = try await session.write(
                    """
                    DELETE FROM cart_items WHERE user_id = \(user.rawValue) AND product_id = \(product.rawValue) RETURNING product_id
                    """,
                    returning: Int64.self
                )
                guard !removed.isEmpty else {
                    throw CommerceError(
                        .notInCart,
                        "product \(product) is not in the cart",
                        details: ["product_id": "\(product)"]
                    )
                }
            case .add(let product, let quantity), .set(let product, let quantity):
                guard
                    let (name, stock) = try await session.first(
                        "SELECT name, stock FROM products WHERE id = \(product.rawValue)",
                        as: (String, Int64).self
                    )
                else {
                    throw CommerceError.productNotFound(product)
                }
                let current = try await session.first(
                    """
                    SELECT quantity FROM cart_items WHERE user_id = \(user.rawValue) AND product_id = \(product.rawValue)
                    """,
                    as: Int64.self
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
                guard wanted <= stock else {
                    throw CommerceError(
                        .outOfStock,
                        "\"\(name)\" has \(stock) in stock, the cart would hold \(wanted)",
                        details: ["product_id": "\(product)", "product_name": name, "available": "\(stock)"]
                    )
                }
                if current == nil {
                    let lines =
                        try await session.first(
                            "SELECT COUNT(*) FROM cart_items WHERE user_id = \(user.rawValue)",
                            as: Int64.self
                        ) ?? 0
                    guard lines < Cart.maximumLines else {
                        throw CommerceError(.cartFull, "a cart holds at most \(Cart.maximumLines) products")
                    }
                }
                try await session.write(
                    """
                    INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES (\(user.rawValue), \(product.rawValue), \(wanted), \(at))
                    ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity
                    """
                )
            }
            return try await Self.loadCart(session, user)
        }
    }

    public func cart(of user: UserID) async throws -> Cart? {
        try await self.read { session in
            guard try await Self.userExists(session, user) else { return nil }
            return try await Self.loadCart(session, user)
        }
    }

    public func checkoutCart(
        _ user: UserID,
        couponID: CouponID?,
        idempotencyKey: String?,
        at: UnixMillis
    ) -> PendingWrite<OrderReceipt> {
        self.transaction(key: user.rawValue, locks: RowLocks(users: [user.rawValue])) { session in
            if let key = idempotencyKey,
                let replay = try await Self.replayedOrder(session, user: user, key: key, fingerprint: nil)
            {
                return replay
            }
            guard try await Self.userExists(session, user) else { throw CommerceError.userNotFound(user) }
            let cart = try await Self.loadCart(session, user)
            guard !cart.lines.isEmpty else {
                // A checkout or an order under the same key may have committed (and emptied the
                // cart) since the key was looked up: this statement sees it.
                if let key = idempotencyKey,
                    let replay = try await Self.replayedOrder(session, user: user, key: key, fingerprint: nil)
                {
                    return replay
                }
                throw CommerceError(.emptyCart, "the cart is empty")
            }
            let request = try OrderRequest.validate(
                userID: user,
                items: cart.lines.map { ($0.productID, $0.quantity) },
                couponID: couponID
            )
            let receipt = try await self.placeOrder(
                session,
                PlaceOrderCommand(request: request, idempotencyKey: idempotencyKey, at: at)
            )
            try await session.write("DELETE FROM cart_items WHERE user_id = \(user.rawValue)")
            return receipt
        }
    }

    static func loadCart(_ session: Session, _ user: UserID) async throws -> Cart {
        let lines = try await session.all(
            """
            SELECT c.product_id, p.name, p.price, c.quantity, p.stock
            FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.user_id = \(user.rawValue) ORDER BY c.product_id
            """,
            as: (Int64, String, Int64, Int64, Int64).self
        ).map {
            CartLine(productID: ProductID($0.0), productName: $0.1, unitPrice: $0.2, quantity: $0.3, stock: $0.4)
        }
        return Cart(userID: user, lines: lines)
    }
}
