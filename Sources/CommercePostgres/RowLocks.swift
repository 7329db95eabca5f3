import PostgresNIO

/// The contended rows a write changes: products (stock) and users (balance). A lane's group locks
/// all of its writes' rows before running them, products then users, each in id order — the order
/// a write alone takes them in (an order's lines are in product-id order, then the buyer) — so
/// groups on different lanes or instances wait for each other rather than deadlock.
struct RowLocks: Sendable {
    var products: Set<Int64> = []
    var users: Set<Int64> = []

    mutating func formUnion(_ other: RowLocks) {
        self.products.formUnion(other.products)
        self.users.formUnion(other.users)
    }

    func take(_ session: Session) async throws {
        if !self.products.isEmpty {
            _ = try await session.all(
                "SELECT id FROM products WHERE id = ANY(\(self.products.sorted())) ORDER BY id FOR UPDATE",
                as: Int64.self
            )
        }
        if !self.users.isEmpty {
            _ = try await session.all(
                "SELECT id FROM users WHERE id = ANY(\(self.users.sorted())) ORDER BY id FOR UPDATE",
                as: Int64.self
            )
        }
    }
}
