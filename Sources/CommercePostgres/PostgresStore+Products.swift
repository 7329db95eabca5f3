import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: ProductStore {
    public func createProduct(name: String, price: Won, stock: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction { session in
            let id = try await session.write(
                """
                INSERT INTO products (name, price, stock, initial_stock, created_at) VALUES (\(name), \(price), \(stock), \(stock), \(at)) RETURNING id
                """,
                returning: Int64.self
            )[0]
            return Product(id: ProductID(id), name: name, price: price, stock: stock, createdAt: at)
        }
    }

    public func restock(_ product: ProductID, quantity: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction(key: product.rawValue) { session in
            if let row = try await session.write(
                """
                UPDATE products SET stock = stock + \(quantity), restocked = restocked + \(quantity)
                WHERE id = \(product.rawValue) AND stock + \(quantity) <= \(StockRule.maximumStock)
                RETURNING id, name, price, stock, created_at
                """,
                returning: (Int64, String, Int64, Int64, Int64).self
            ).first {
                return Self.product(row)
            }
            if let stock = try await session.first(
                "SELECT stock FROM products WHERE id = \(product.rawValue)",
                as: Int64.self
            ) {
                throw StockRule.limitExceeded(product, stock: stock, restocking: quantity)
            }
            throw CommerceError.productNotFound(product)
        }
    }

    public func product(_ id: ProductID) async throws -> Product? {
        try await self.withSession { session in
            try await session.first(
                "SELECT id, name, price, stock, created_at FROM products WHERE id = \(id.rawValue)",
                as: (Int64, String, Int64, Int64, Int64).self
            ).map(Self.product)
        }
    }

    public func products(page: PageQuery) async throws -> Page<Product> {
        try await self.withSession { session in
            let rows = try await session.all(
                """
                SELECT id, name, price, stock, created_at FROM products WHERE id > \(page.after ?? 0) ORDER BY id LIMIT \(Int64(page.size + 1))
                """,
                as: (Int64, String, Int64, Int64, Int64).self
            )
            let products = rows.prefix(page.size).map(Self.product)
            return Page(items: Array(products), nextAfter: rows.count > page.size ? products.last?.id.rawValue : nil)
        }
    }

    static func product(_ row: (Int64, String, Int64, Int64, Int64)) -> Product {
        Product(id: ProductID(row.0), name: row.1, price: row.2, stock: row.3, createdAt: row.4)
    }
}
