import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: UserStore {
    public func createUser(name: String, at: UnixMillis) -> PendingWrite<User> {
        self.transaction { session in
            let id = try await session.write(
                "INSERT INTO users (name, balance, created_at) VALUES (\(name), 0, \(at)) RETURNING id",
                returning: Int64.self
            )[0]
            return User(id: UserID(id), name: name, balance: 0, createdAt: at)
        }
    }

    public func user(_ id: UserID) async throws -> User? {
        try await self.withSession { session in
            try await session.first(
                "SELECT name, balance, created_at FROM users WHERE id = \(id.rawValue)",
                as: (String, Int64, Int64).self
            )
            .map { User(id: id, name: $0.0, balance: $0.1, createdAt: $0.2) }
        }
    }

    static func userExists(_ session: Session, _ user: UserID) async throws -> Bool {
        try await session.first("SELECT 1::BIGINT FROM users WHERE id = \(user.rawValue)", as: Int64.self) != nil
    }

    /// A user's balance as this transaction sees it; nil for an unknown user. Prepared: GetBalance,
    /// the most frequent read, is this one statement.
    static func balance(_ session: Session, of user: UserID) async throws -> Won? {
        try await session.rows(BalanceStatement(user: user.rawValue)).first
    }
}

struct BalanceStatement: PostgresPreparedStatement {
    static let sql = "SELECT balance FROM users WHERE id = $1"
    static let bindingDataTypes: [PostgresDataType] = [.int8]
    typealias Row = Int64

    var user: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(self.user)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
}
