import CommerceDomain

public struct CreateUser: Sendable {
    let store: any UserStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(name rawName: String) async throws -> User {
        let name = try Validate.name(rawName, maxLength: 100)
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.writeNew { store.createUser(name: name, at: clock()) }
    }
}

public struct GetUser: Sendable {
    let store: any UserStore
    let queues: WorkQueues

    public func callAsFunction(userID rawID: Int64) async throws -> User {
        let id = try Validate.userID(rawID)
        guard let user = try await self.store.user(id) else {
            throw CommerceError.userNotFound(id)
        }
        return user
    }
}
