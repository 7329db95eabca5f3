import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: ProductStore {
    public func createProduct(name: String, price: Won, stock: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction { db in
            try db.run(
                """
                INSERT INTO products (name, price, stock, initial_stock, created_at) VALUES (?, ?, ?, ?, ?)
                """,
                arguments: [name, price, stock, stock, at]
            )
            return Product(id: ProductID(db.lastInsertedRowID), name: name, price: price, stock: stock, createdAt: at)
        }
    }

    public func restock(_ product: ProductID, quantity: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction { db in
            if let row = try Row.fetchOne(
                db,
                sql: """
                    UPDATE products SET stock = stock + :quantity, restocked = restocked + :quantity
                    WHERE id = :id AND stock + :quantity <= :limit
                    RETURNING \(Self.productColumns)
                    """,
                arguments: ["quantity": quantity, "id": product.rawValue, "limit": StockRule.maximumStock]
            ) {
                return Self.product(row)
            }
            if let stock = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT stock FROM products WHERE id = ?"),
                arguments: [product.rawValue]
            ) {
                throw StockRule.limitExceeded(product, stock: stock, restocking: quantity)
            }
            throw CommerceError.productNotFound(product)
        }
    }

    public func product(_ id: ProductID) async throws -> Product? {
        try self.lookUp { db in
            try db.fetchFirst(composed: "SELECT \(Self.productColumns) FROM products WHERE id = ?", id.rawValue) {
                row in
                Product(
                    id: ProductID(row.int64(0)),
                    name: row.string(1),
                    price: row.int64(2),
                    stock: row.int64(3),
                    createdAt: row.int64(4)
                )
            }
        }
    }

    public func products(page: PageQuery) async throws -> Page<Product> {
        try await self.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.productColumns) FROM products WHERE id > ? ORDER BY id LIMIT ?
                    """,
                arguments: [page.after ?? 0, page.size + 1]
            )
            let products = rows.prefix(page.size).map(Self.product)
            let next = rows.count > page.size ? products.last.map { $0.id.rawValue } : nil
            return Page(items: Array(products), nextAfter: next)
        }
    }

    static let productColumns = "id, name, price, stock, created_at"

    static func product(_ row: Row) -> Product {
        Product(
            id: ProductID(row["id"]),
            name: row["name"],
            price: row["price"],
            stock: row["stock"],
            createdAt: row["created_at"]
        )
    }
}
