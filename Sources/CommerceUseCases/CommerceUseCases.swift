import CommerceDomain
import Foundation

/// Every use case of the shop, wired to one store and one set of work queues.
public struct CommerceUseCases: Sendable {
    public let createUser: CreateUser
    public let getUser: GetUser
    public let chargeBalance: ChargeBalance
    public let getBalance: GetBalance
    public let listBalanceHistory: ListBalanceHistory
    public let getProduct: GetProduct
    public let listProducts: ListProducts
    public let createProduct: CreateProduct
    public let restock: Restock

    public init(
        users: any UserStore, balances: any BalanceStore, products: any ProductStore,
        queues: WorkQueues, policy: BalancePolicy = .standard, clock: @escaping @Sendable () -> UnixMillis = systemClock
    ) {
        self.createUser = CreateUser(store: users, queues: queues, clock: clock)
        self.getUser = GetUser(store: users, queues: queues)
        self.chargeBalance = ChargeBalance(store: balances, queues: queues, policy: policy, clock: clock)
        self.getBalance = GetBalance(store: balances, queues: queues)
        self.listBalanceHistory = ListBalanceHistory(store: balances, queues: queues)
        self.getProduct = GetProduct(store: products, queues: queues)
        self.listProducts = ListProducts(store: products, queues: queues)
        self.createProduct = CreateProduct(store: products, queues: queues, clock: clock)
        self.restock = Restock(store: products, queues: queues, clock: clock)
    }
}

/// Wall-clock milliseconds since the Unix epoch.
public let systemClock: @Sendable () -> UnixMillis = {
    UnixMillis((Date().timeIntervalSince1970 * 1000).rounded())
}
