import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: UserStore {
    public func createUser(name: String, at: UnixMillis) -> PendingWrite<User> {
        self.transaction { db in
            try db.run("INSERT INTO users (name, balance, created_at) VALUES (?, 0, ?)", arguments: [name, at])
            return User(id: UserID(db.lastInsertedRowID), name: name, balance: 0, createdAt: at)
        }
    }

    static func userExists(_ db: Database, _ user: UserID) throws -> Bool {
        try db.fetchFirst(direct: "SELECT 1 FROM users WHERE id = ?", user.rawValue, read: { _ in true }) ?? false
    }

    public func user(_ id: UserID) async throws -> User? {
        try self.lookUp { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, name, balance, created_at FROM users WHERE id = ?"),
                arguments: [id.rawValue]
            )
            .map { User(id: UserID($0["id"]), name: $0["name"], balance: $0["balance"], createdAt: $0["created_at"]) }
        }
    }
}
