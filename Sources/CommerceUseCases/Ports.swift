import CommerceDomain

// The storage the use cases need. Implementations must make every write method one atomic
// transaction whose guarded statements enforce the invariant named on it, so that several
// server processes sharing one database stay exact. Write methods are synchronous: the use
// cases call them on their serialized Dispatch write queues. Read methods are async: the store
// runs them on its own reader queues (Dispatch), concurrently, never on the caller's thread.

public protocol UserStore: Sendable {
    func createUser(name: String, at: UnixMillis) throws -> User
    func user(_ id: UserID) async throws -> User?
}

/// A charge as the store must apply it.
public struct ChargeCommand: Hashable, Sendable {
    public var userID: UserID
    public var amount: Won
    /// A repeat of a key returns the first receipt with `replayed = true` and changes nothing.
    public var idempotencyKey: String?
    public var policy: BalancePolicy
    public var at: UnixMillis

    public init(userID: UserID, amount: Won, idempotencyKey: String?, policy: BalancePolicy, at: UnixMillis) {
        self.userID = userID
        self.amount = amount
        self.idempotencyKey = idempotencyKey
        self.policy = policy
        self.at = at
    }
}

public protocol BalanceStore: Sendable {
    /// Adds `amount` unless the balance would exceed the policy's maximum (guarded in the same
    /// statement), writes the history entry and records the idempotency key, all in one transaction.
    /// - Throws: ``CommerceError`` `USER_NOT_FOUND`, `BALANCE_LIMIT_EXCEEDED`, `IDEMPOTENCY_KEY_REUSED`.
    func charge(_ command: ChargeCommand) throws -> ChargeReceipt
    /// `nil` when the user does not exist.
    func balance(of user: UserID) async throws -> Won?
    /// Newest first; `nil` when the user does not exist.
    func history(of user: UserID, page: PageQuery) async throws -> Page<BalanceEntry>?
}

public protocol ProductStore: Sendable {
    func createProduct(name: String, price: Won, stock: Int64, at: UnixMillis) throws -> Product
    /// - Throws: ``CommerceError`` `PRODUCT_NOT_FOUND`, `STOCK_LIMIT_EXCEEDED`.
    func restock(_ product: ProductID, quantity: Int64, at: UnixMillis) throws -> Product
    func product(_ id: ProductID) async throws -> Product?
    /// Ascending by id.
    func products(page: PageQuery) async throws -> Page<Product>
}
