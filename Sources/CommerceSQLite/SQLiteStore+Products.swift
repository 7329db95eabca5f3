import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: ProductStore {
    /// The most units one product may hold.
    static let maximumStock: Int64 = 1_000_000_000

    public func createProduct(name: String, price: Won, stock: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction { db in
            try db.run("""
                INSERT INTO products (name, price, stock, initial_stock, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [name, price, stock, stock, at])
            return Product(id: ProductID(db.lastInsertedRowID), name: name, price: price, stock: stock, createdAt: at)
        }
    }

    public func restock(_ product: ProductID, quantity: Int64, at: UnixMillis) -> PendingWrite<Product> {
        self.transaction { db in
            if let row = try Row.fetchOne(db, sql: """
                UPDATE products SET stock = stock + :quantity, restocked = restocked + :quantity
                WHERE id = :id AND stock + :quantity <= :limit
                RETURNING \(Self.productColumns)
                """, arguments: ["quantity": quantity, "id": product.rawValue, "limit": Self.maximumStock])
            {
                return Self.product(row)
            }
            if let stock = try Int64.fetchOne(db.cachedStatement(sql: "SELECT stock FROM products WHERE id = ?"), arguments: [product.rawValue]) {
                throw CommerceError(.failedPrecondition, .stockLimitExceeded,
                                    "restocking \(quantity) units onto \(stock) would exceed \(Self.maximumStock)",
                                    details: ["product_id": "\(product)", "stock": "\(stock)"])
            }
            throw CommerceError.productNotFound(product)
        }
    }

    public func product(_ id: ProductID) async throws -> Product? {
        try self.lookUp { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.productColumns) FROM products WHERE id = ?"), arguments: [id.rawValue])
                .map(Self.product)
        }
    }

    public func products(page: PageQuery) async throws -> Page<Product> {
        try await self.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Self.productColumns) FROM products WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [page.after ?? 0, page.size + 1])
            let products = rows.prefix(page.size).map(Self.product)
            let next = rows.count > page.size ? products.last.map { PageQuery.token(after: $0.id.rawValue) } : nil
            return Page(items: Array(products), nextToken: next)
        }
    }

    /// Sums the window's rollup rows here rather than in SQL: SQLite's GROUP BY and ORDER BY over
    /// them build two temporary B-trees. Over 150 rollup rows that query took 66 µs, where reading
    /// the rows takes 18 µs (benchmarks/README.md, session 8). Names are looked up for the ranked
    /// few only. One read transaction: the names come from the rollups' snapshot.
    public func topSellers(from: SalesDay, through: SalesDay, limit: Int) async throws -> [TopSeller] {
        try await self.read { db in
            var tally = SalesTally()
            try db.forEachRow(direct: "SELECT product_id, quantity, orders FROM product_daily_sales WHERE day BETWEEN ? AND ?",
                              from.rawValue, through.rawValue) { row in
                tally.add(ProductID(row.int64(0)), quantity: row.int64(1), orders: row.int64(2))
            }
            return try tally.top(limit).map { total in
                let name = try db.fetchFirst(direct: "SELECT name FROM products WHERE id = ?", total.productID.rawValue) { $0.string(0) }
                return TopSeller(productID: total.productID, name: name ?? "", quantitySold: total.quantity, orderCount: total.orders)
            }
        }
    }

    static let productColumns = "id, name, price, stock, created_at"

    static func product(_ row: Row) -> Product {
        Product(id: ProductID(row["id"]), name: row["name"], price: row["price"], stock: row["stock"], createdAt: row["created_at"])
    }
}
