import CommerceDomain

public struct CreateUser: Sendable {
    let store: any UserStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    /// - Parameter name: validated (``User/validName(_:)``).
    public func callAsFunction(name: String) async throws -> User {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.writeNew { store.createUser(name: name, at: clock()) }
    }
}

public struct GetUser: Sendable {
    let store: any UserStore
    let queues: WorkQueues

    public func callAsFunction(_ id: UserID) async throws -> User {
        guard let user = try await self.store.user(id) else {
            throw CommerceError.userNotFound(id)
        }
        return user
    }
}
