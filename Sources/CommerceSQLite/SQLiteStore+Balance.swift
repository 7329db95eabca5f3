import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: BalanceStore {
    public func charge(_ command: ChargeCommand) -> PendingWrite<ChargeReceipt> {
        self.transaction { db in
            let user = command.userID.rawValue
            if let key = command.idempotencyKey,
                let first = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT amount, balance_after, entry_id FROM idempotency_keys
                            WHERE scope = 'charge' AND user_id = ? AND key = ?
                            """
                    ),
                    arguments: [user, key]
                )
            {
                let amount: Int64 = first["amount"]
                guard amount == command.amount else {
                    throw CommerceError(
                        .idempotencyKeyReused,
                        "idempotency key was first used for a charge of \(amount) won, not \(command.amount)",
                        details: ["first_amount": "\(amount)"]
                    )
                }
                return ChargeReceipt(
                    userID: command.userID,
                    charged: amount,
                    balance: first["balance_after"],
                    entryID: first["entry_id"],
                    replayed: true
                )
            }
            // The guard and the change are one statement: no interleaving can push a balance past the
            // limit. (The new balance is read back, not RETURNed: see ``pay(_:_:at:)``.)
            try db.execute(
                direct: "UPDATE users SET balance = balance + ?1 WHERE id = ?2 AND balance + ?1 <= ?3",
                command.amount,
                user,
                command.policy.maximumBalance
            )
            guard db.directChanges == 1, let balance = try Self.balance(db, of: command.userID) else {
                if let current = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT balance FROM users WHERE id = ?"),
                    arguments: [user]
                ) {
                    throw command.policy.limitExceeded(userID: command.userID, amount: command.amount, balance: current)
                }
                throw CommerceError.userNotFound(command.userID)
            }
            let entryID = try Self.appendEntry(
                db,
                user: user,
                type: .charge,
                amount: command.amount,
                balanceAfter: balance,
                at: command.at
            )
            if let key = command.idempotencyKey {
                try db.run(
                    """
                    INSERT INTO idempotency_keys (scope, user_id, key, amount, balance_after, entry_id, created_at)
                    VALUES ('charge', ?, ?, ?, ?, ?, ?)
                    """,
                    arguments: [user, key, command.amount, balance, entryID, command.at]
                )
            }
            return ChargeReceipt(
                userID: command.userID,
                charged: command.amount,
                balance: balance,
                entryID: entryID,
                replayed: false
            )
        }
    }

    public func balance(of user: UserID) async throws -> Won? {
        try self.lookUp { db in
            try db.fetchFirst(direct: "SELECT balance FROM users WHERE id = ?", user.rawValue) { $0.int64(0) }
        }
    }

    public func history(of user: UserID, page: PageQuery) async throws -> Page<BalanceEntry>? {
        try await self.read { db in
            guard try Self.userExists(db, user) else {
                return nil
            }
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, type, amount, balance_after, created_at FROM balance_entries
                        WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?
                        """
                ),
                arguments: [user.rawValue, page.after ?? Int64.max, page.size + 1]
            )
            let entries = rows.prefix(page.size).map { row in
                BalanceEntry(
                    id: row["id"],
                    userID: user,
                    type: BalanceEntryType(rawValue: row["type"]) ?? .charge,
                    amount: row["amount"],
                    balanceAfter: row["balance_after"],
                    createdAt: row["created_at"]
                )
            }
            let next = rows.count > page.size ? entries.last.map { $0.id } : nil
            return Page(items: Array(entries), nextAfter: next)
        }
    }

    /// Appends a history line; the caller has already changed `users.balance` in this transaction.
    static func appendEntry(
        _ db: Database,
        user: Int64,
        type: BalanceEntryType,
        amount: Won,
        balanceAfter: Won,
        at: UnixMillis
    ) throws -> Int64 {
        try db.execute(
            direct: """
                INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at) VALUES (?, ?, ?, ?, ?)
                """,
            user,
            type.rawValue,
            amount,
            balanceAfter,
            at
        )
        return db.lastInsertedRowID
    }
}
