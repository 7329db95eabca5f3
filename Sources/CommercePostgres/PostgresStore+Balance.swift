import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: BalanceStore {
    public func charge(_ command: ChargeCommand) -> PendingWrite<ChargeReceipt> {
        self.transaction(key: command.userID.rawValue, locks: RowLocks(users: [command.userID.rawValue])) { session in
            let user = command.userID.rawValue
            if let key = command.idempotencyKey,
                let (amount, balanceAfter, entryID) = try await session.first(
                    """
                    SELECT amount, balance_after, entry_id FROM idempotency_keys WHERE scope = 'charge' AND user_id = \(user) AND key = \(key)
                    """,
                    as: (Int64, Int64, Int64).self
                )
            {
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
                    balance: balanceAfter,
                    entryID: entryID,
                    replayed: true
                )
            }
            // The guard and the change are one statement, on the row's latest version.
            guard
                let balance = try await session.write(
                    """
                    UPDATE users SET balance = balance + \(command.amount)
                    WHERE id = \(user) AND balance + \(command.amount) <= \(command.policy.maximumBalance) RETURNING balance
                    """,
                    returning: Int64.self
                ).first
            else {
                if let current = try await Self.balance(session, of: command.userID) {
                    throw command.policy.limitExceeded(userID: command.userID, amount: command.amount, balance: current)
                }
                throw CommerceError.userNotFound(command.userID)
            }
            let entryID = try await Self.appendEntry(
                session,
                user: user,
                type: .charge,
                amount: command.amount,
                balanceAfter: balance,
                at: command.at
            )
            if let key = command.idempotencyKey {
                // A concurrent first use of the key (another instance) violates the primary key:
                // the lane runs this write again, which then finds that one and replays it.
                try await session.write(
                    """
                    INSERT INTO idempotency_keys (scope, user_id, key, amount, balance_after, entry_id, created_at)
                    VALUES ('charge', \(user), \(key), \(command.amount), \(balance), \(entryID), \(command.at))
                    """
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
        try await self.withSession { session in try await Self.balance(session, of: user) }
    }

    public func history(of user: UserID, page: PageQuery) async throws -> Page<BalanceEntry>? {
        try await self.read { session in
            guard try await Self.userExists(session, user) else { return nil }
            let rows = try await session.all(
                """
                SELECT id, type, amount, balance_after, created_at FROM balance_entries
                WHERE user_id = \(user.rawValue) AND id < \(page.after ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(page.size + 1))
                """,
                as: (Int64, String, Int64, Int64, Int64).self
            )
            let entries = rows.prefix(page.size).map { row in
                BalanceEntry(
                    id: row.0,
                    userID: user,
                    type: BalanceEntryType(rawValue: row.1) ?? .charge,
                    amount: row.2,
                    balanceAfter: row.3,
                    createdAt: row.4
                )
            }
            return Page(items: Array(entries), nextAfter: rows.count > page.size ? entries.last?.id : nil)
        }
    }

    /// Appends a history line; the caller has already changed `users.balance` in this transaction.
    static func appendEntry(
        _ session: Session,
        user: Int64,
        type: BalanceEntryType,
        amount: Won,
        balanceAfter: Won,
        at: UnixMillis
    ) async throws -> Int64 {
        try await session.write(
            """
            INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at)
            VALUES (\(user), \(type.rawValue), \(amount), \(balanceAfter), \(at)) RETURNING id
            """,
            returning: Int64.self
        )[0]
    }
}
