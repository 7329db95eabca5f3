import CommerceDomain

/// Adds money to a balance, at most once per idempotency key.
public struct ChargeBalance: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues
    let policy: BalancePolicy
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(userID rawID: Int64, amount: Won, idempotencyKey rawKey: String) async throws -> ChargeReceipt {
        let userID = try Validate.userID(rawID)
        try self.policy.validateCharge(amount: amount)
        let key = try Validate.idempotencyKey(rawKey)
        let (store, policy, clock) = (self.store, self.policy, self.clock)
        return try await self.queues.write(user: userID) {
            store.charge(ChargeCommand(userID: userID, amount: amount, idempotencyKey: key, policy: policy, at: clock()))
        }
    }
}

public struct GetBalance: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues

    public func callAsFunction(userID rawID: Int64) async throws -> Won {
        let userID = try Validate.userID(rawID)
        guard let balance = try await self.store.balance(of: userID) else {
            throw CommerceError.userNotFound(userID)
        }
        return balance
    }
}

public struct ListBalanceHistory: Sendable {
    let store: any BalanceStore
    let queues: WorkQueues

    public func callAsFunction(userID rawID: Int64, pageSize: Int32, pageToken: String) async throws -> Page<BalanceEntry> {
        let userID = try Validate.userID(rawID)
        let page = try PageQuery.parse(size: pageSize, token: pageToken)
        guard let entries = try await self.store.history(of: userID, page: page) else {
            throw CommerceError.userNotFound(userID)
        }
        return entries
    }
}
