import CommerceDomain

/// Adds money to a balance, at most once per idempotency key.
public struct ChargeBalance: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues
    let policy: BalancePolicy
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(user: UserID, amount: Won, idempotencyKey key: String?) async throws -> ChargeReceipt {
        try self.policy.validateCharge(amount: amount)
        let (store, policy, clock) = (self.store, self.policy, self.clock)
        return try await self.queues.write(user: user) {
            store.charge(ChargeCommand(userID: user, amount: amount, idempotencyKey: key, policy: policy, at: clock()))
        }
    }
}

public struct GetBalance: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues

    public func callAsFunction(user: UserID) async throws -> Won {
        guard let balance = try await self.store.balance(of: user) else {
            throw CommerceError.userNotFound(user)
        }
        return balance
    }
}

public struct ListBalanceHistory: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues

    public func callAsFunction(user: UserID, page: PageQuery) async throws -> Page<BalanceEntry> {
        guard let entries = try await self.store.history(of: user, page: page) else {
            throw CommerceError.userNotFound(user)
        }
        return entries
    }
}
