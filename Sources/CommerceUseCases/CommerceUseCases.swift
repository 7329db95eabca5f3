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
    public let placeOrder: PlaceOrder
    public let getOrder: GetOrder
    public let cancelOrder: CancelOrder
    public let createOrder: CreateOrder
    public let payOrder: PayOrder
    public let expireOrders: ExpireOrders
    public let topProducts: TopProducts
    public let takeRankingSnapshot: TakeRankingSnapshot
    public let pruneWindowTotals: PruneWindowTotals
    public let changeCart: ChangeCart
    public let getCart: GetCart
    public let checkoutCart: CheckoutCart
    public let listOrders: ListOrders
    public let listRecentOrders: ListRecentOrders
    public let createCouponCampaign: CreateCouponCampaign
    public let issueCoupon: IssueCoupon
    public let listUserCoupons: ListUserCoupons
    public let listCouponCampaigns: ListCouponCampaigns
    public let clock: @Sendable () -> UnixMillis
    public let audit: @Sendable () async throws -> [InvariantViolation]

    public init(
        store: any CommerceStore,
        queues: WorkQueues,
        policy: BalancePolicy = .standard,
        clock: @escaping @Sendable () -> UnixMillis = systemClock,
        calendar: ShopCalendar,
        rankingCacheMillis: Int64 = 1_000,
        pendingOrderTTLMillis: Int64 = 24 * 3_600_000
    ) {
        self.createOrder = CreateOrder(store: store, queues: queues, clock: clock, ttlMillis: pendingOrderTTLMillis)
        self.payOrder = PayOrder(store: store, queues: queues, clock: clock)
        self.expireOrders = ExpireOrders(store: store, queues: queues, clock: clock)
        self.takeRankingSnapshot = TakeRankingSnapshot(
            store: store,
            queues: queues,
            clock: clock,
            calendar: calendar,
            taken: LatestSnapshot()
        )
        self.pruneWindowTotals = PruneWindowTotals(store: store, queues: queues, clock: clock, calendar: calendar)
        self.topProducts = TopProducts(
            store: store,
            clock: clock,
            calendar: calendar,
            cache: RankingCache(ttlMillis: rankingCacheMillis),
            snapshots: self.takeRankingSnapshot
        )
        let (users, balances, products): (any UserStore, any BalanceStore, any ProductStore) = (store, store, store)
        self.clock = clock
        self.changeCart = ChangeCart(store: store, queues: queues, clock: clock)
        self.getCart = GetCart(store: store)
        self.checkoutCart = CheckoutCart(store: store, queues: queues, clock: clock)
        self.audit = { try await store.checkInvariants() }
        self.placeOrder = PlaceOrder(store: store, queues: queues, clock: clock)
        self.getOrder = GetOrder(store: store, clock: clock)
        self.cancelOrder = CancelOrder(store: store, queues: queues, clock: clock)
        self.listOrders = ListOrders(store: store, clock: clock)
        self.listRecentOrders = ListRecentOrders(store: store, clock: clock)
        self.createCouponCampaign = CreateCouponCampaign(store: store, queues: queues, clock: clock)
        self.issueCoupon = IssueCoupon(store: store, queues: queues, clock: clock, soldOut: SoldOutCampaigns())
        self.listUserCoupons = ListUserCoupons(store: store)
        self.listCouponCampaigns = ListCouponCampaigns(store: store)
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
