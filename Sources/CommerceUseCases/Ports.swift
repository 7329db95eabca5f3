import CommerceDomain

// The storage the use cases need. Implementations must make every write method one atomic
// transaction whose guarded statements enforce the invariant named on it, so that several
// server processes sharing one database stay exact. Write methods are called on the use cases'
// serialized Dispatch write queues and return at once with a ``PendingWrite``: the store must run
// the writes it accepts for one key (a user's balance writes; SQLite: all of them) in the order it
// accepted them, and finish each once it is durable. Read
// methods are async: the store runs them on its own reader queues (Dispatch), concurrently, never
// on the caller's thread.

public protocol UserStore: Sendable {
    func createUser(name: String, at: UnixMillis) -> PendingWrite<User>
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
    func charge(_ command: ChargeCommand) -> PendingWrite<ChargeReceipt>
    /// `nil` when the user does not exist.
    func balance(of user: UserID) async throws -> Won?
    /// Newest first; `nil` when the user does not exist.
    func history(of user: UserID, page: PageQuery) async throws -> Page<BalanceEntry>?
}

public protocol ProductStore: Sendable {
    func createProduct(name: String, price: Won, stock: Int64, at: UnixMillis) -> PendingWrite<Product>
    /// - Throws: ``CommerceError`` `PRODUCT_NOT_FOUND`, `STOCK_LIMIT_EXCEEDED`.
    func restock(_ product: ProductID, quantity: Int64, at: UnixMillis) -> PendingWrite<Product>
    func product(_ id: ProductID) async throws -> Product?
    /// Ascending by id.
    func products(page: PageQuery) async throws -> Page<Product>
}

/// Per-day sales rollups (days of the store's ``ShopCalendar``) and the daily ranking snapshots.
public protocol RankingStore: Sendable {
    /// The first `limit` products over the days of `span` in `rankBy` order (``SalesTally``), from the rollups.
    func topSellers(in span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) async throws -> [TopSeller]
    /// `today`'s snapshot, ``RankingSnapshot/entries(today:rollups:)`` over the rollups of
    /// ``RankingSnapshot/span(today:)``, read and ranked in one read transaction, off the writer
    /// (a month of rollups for every product); `nil` when a snapshot for `today` exists.
    func rankingSnapshotEntries(today: SalesDay) async throws -> [RankingSnapshot.Entry]?
    /// In one short transaction, unless a snapshot for `today` exists (another instance's, saved
    /// since its entries were read): writes `entries` as `today`'s, drops snapshots older than a
    /// week. - Returns: whether this call took it.
    func saveRankingSnapshot(today: SalesDay, at: UnixMillis, entries: [RankingSnapshot.Entry]) -> PendingWrite<Bool>
    /// Stops keeping the totals of windows ending before `keptFrom` (a store that keeps any, for
    /// the default window) and deletes at most `limit` of their rows; idle, it takes no write lock.
    /// A window before `keptFrom` is then ranked from the rollups. - Returns: rows deleted.
    func pruneWindowTotals(keptFrom: SalesDay, limit: Int) -> PendingWrite<Int>
    /// The first `limit` entries of `today`'s snapshot for a window of `days` ranked by `rankBy`,
    /// with names; `nil` when no snapshot for `today` was taken.
    func rankingSnapshot(today: SalesDay, days: Int, rankBy: RankBy, limit: Int) async throws -> [TopSeller]?
}

extension RankingStore {
    /// Reads and ranks `today`'s snapshot, then saves it: ``TakeRankingSnapshot`` without its
    /// write queue. - Returns: whether this call took it.
    public func takeRankingSnapshot(today: SalesDay, at: UnixMillis) async throws -> Bool {
        guard let entries = try await self.rankingSnapshotEntries(today: today) else { return false }
        return try await self.saveRankingSnapshot(today: today, at: at, entries: entries).value
    }
}

/// An order as the store must apply it.
public struct PlaceOrderCommand: Hashable, Sendable {
    public var request: OrderRequest
    /// A repeat returns the first order with `replayed = true` and changes nothing.
    public var idempotencyKey: String?
    public var at: UnixMillis
    /// nil: pay now (PlaceOrder). Otherwise a two-step order: reserve stock and coupon as
    /// PENDING_PAYMENT until this time (CreateOrder).
    public var expiresAt: UnixMillis?
    /// The caller's W3C trace context, kept with the order's event (``OrderEvent/traceParent``).
    public var traceParent: String?

    public init(
        request: OrderRequest,
        idempotencyKey: String?,
        at: UnixMillis,
        expiresAt: UnixMillis? = nil,
        traceParent: String? = nil
    ) {
        self.traceParent = traceParent
        self.expiresAt = expiresAt
        self.request = request
        self.idempotencyKey = idempotencyKey
        self.at = at
    }
}

public protocol OrderStore: Sendable {
    /// In one transaction: take stock for every line (guarded: never below zero), check and use the
    /// coupon (owner, state, window; guarded: used once), debit the balance (guarded: never below
    /// zero), record the order, its lines, the payment, the history entry and the idempotency key.
    /// - Throws: ``CommerceError`` `USER_NOT_FOUND`, `PRODUCT_NOT_FOUND`, `OUT_OF_STOCK`,
    ///   `INSUFFICIENT_BALANCE`, `COUPON_NOT_FOUND`, `COUPON_NOT_OWNED`, `COUPON_ALREADY_USED`,
    ///   `COUPON_EXPIRED`, `COUPON_NOT_YET_VALID`, `IDEMPOTENCY_KEY_REUSED`.
    func placeOrder(_ command: PlaceOrderCommand) -> PendingWrite<OrderReceipt>
    func order(_ id: OrderID) async throws -> Order?
    /// Cancels an order of `user` in one transaction. PAID: refunded — stock back (counted as
    /// returned), the amount paid back to the balance with a REFUND entry and payment, the coupon
    /// AVAILABLE again. PENDING_PAYMENT: cancelled — stock and coupon released, nothing to refund.
    /// - Throws: ``CommerceError`` `ORDER_NOT_FOUND` (also for another user's order), `ORDER_NOT_CANCELLABLE`.
    func refundOrder(_ id: OrderID, user: UserID, at: UnixMillis, traceParent: String?) -> PendingWrite<RefundReceipt>
    /// Pays a PENDING_PAYMENT order of `user` that has not expired (guarded status change, debit,
    /// USE entry, payment, rollups). - Throws: `ORDER_NOT_FOUND` (also for another user's order),
    /// `ORDER_NOT_PAYABLE`, `ORDER_EXPIRED`, `INSUFFICIENT_BALANCE`.
    func payOrder(_ id: OrderID, user: UserID, at: UnixMillis, traceParent: String?) -> PendingWrite<OrderReceipt>
    /// Ends up to `limit` unpaid orders whose time is up: EXPIRED, stock and coupon released.
    /// - Returns: how many.
    func expireDueOrders(at: UnixMillis, limit: Int) -> PendingWrite<Int>
    /// Newest first; `nil` when the user does not exist.
    func orders(of user: UserID, page: PageQuery) async throws -> Page<Order>?
    /// Every user's orders, newest first (by id: the order they were placed in).
    func recentOrders(page: PageQuery) async throws -> Page<Order>
}

public protocol CouponStore: Sendable {
    func createCampaign(_ campaign: NewCampaign, at: UnixMillis) -> PendingWrite<CouponCampaign>
    /// Issues one coupon if ``CouponIssuance`` allows it and the campaign has one left (guarded count).
    /// - Throws: ``CommerceError`` `CAMPAIGN_NOT_FOUND`, `CAMPAIGN_NOT_OPEN`, `USER_NOT_FOUND`,
    ///   `COUPON_ALREADY_ISSUED`, `COUPON_SOLD_OUT`, first of these first.
    func issueCoupon(campaign: CampaignID, user: UserID, at: UnixMillis) -> PendingWrite<Coupon>
    /// What deciding an issue needs, read in one snapshot.
    func issuanceFacts(campaign: CampaignID, user: UserID) async throws -> CouponIssuanceFacts
    /// Whether `user` exists and holds a coupon of `campaign`: one point read, for a request this
    /// process already knows is sold out (the campaign itself it remembers).
    func holderFacts(campaign: CampaignID, user: UserID) async throws -> (userExists: Bool, alreadyHolds: Bool)
    /// Every user holding a coupon of `campaign`, if there are at most `limit`; `nil` if more.
    func holders(of campaign: CampaignID, limit: Int) async throws -> Set<UserID>?
    /// `nil` when the user does not exist.
    func coupons(of user: UserID) async throws -> [Coupon]?
    /// Every campaign with its issued count, newest first.
    func campaigns(page: PageQuery) async throws -> Page<CouponCampaign>
}

/// What ``CouponIssuance/check(_:campaign:user:userExists:alreadyHolds:at:)`` decides on.
public struct CouponIssuanceFacts: Hashable, Sendable {
    public var campaign: CouponCampaign?
    public var userExists: Bool
    public var alreadyHolds: Bool

    public init(campaign: CouponCampaign?, userExists: Bool, alreadyHolds: Bool) {
        self.campaign = campaign
        self.userExists = userExists
        self.alreadyHolds = alreadyHolds
    }
}

public protocol CartStore: Sendable {
    /// Applies `change`, checking stock now for adds and updates (the merged quantity must be in
    /// stock); returns the cart after it.
    /// - Throws: ``CommerceError`` `USER_NOT_FOUND`, `PRODUCT_NOT_FOUND`, `OUT_OF_STOCK`,
    ///   `INVALID_QUANTITY`, `TOO_MANY_LINES`, `NOT_IN_CART`.
    func changeCart(_ user: UserID, _ change: CartChange, at: UnixMillis) -> PendingWrite<Cart>
    /// `nil` when the user does not exist.
    func cart(of user: UserID) async throws -> Cart?
    /// Places an order of the whole cart (as ``OrderStore/placeOrder(_:)``) and empties the cart,
    /// in one transaction. - Throws: `EMPTY_CART` and PlaceOrder's reasons.
    func checkoutCart(
        _ user: UserID,
        couponID: CouponID?,
        idempotencyKey: String?,
        at: UnixMillis
    ) -> PendingWrite<OrderReceipt>
}

/// The transactional outbox: events are written by the order transactions themselves. A relay
/// delivers them at least once, oldest first, and in commit order for each order (an order's
/// refund commits after its payment, so it is written after it). One relay at a time (per
/// database) holds the lease; the head event's retries are kept with it.
public protocol OutboxStore: Sendable {
    /// Takes or renews the relay lease for `owner` until `now + leaseMillis`. Nil when another
    /// owner holds an unexpired lease, when nothing is undelivered, or when the head event's retry
    /// is not due yet.
    func takeRelayLease(owner: String, leaseMillis: Int64, now: UnixMillis) -> PendingWrite<RelayLease?>
    /// Up to `limit` undelivered events, oldest first (a read: the lease holder's next batch).
    func events(for lease: RelayLease, limit: Int) async throws -> [PendingEvent]
    /// Records that these events (of the last batch, in its order) were delivered, if `owner`
    /// still holds the lease.
    func markDelivered(_ sequences: [Int64], owner: String) -> PendingWrite<Void>
    /// Records a failed attempt at the head event `sequence`, its `attempts`-th; it is due again at `retryAt`.
    func markFailed(
        _ sequence: Int64,
        attempts: Int,
        error: String,
        retryAt: UnixMillis,
        owner: String
    ) -> PendingWrite<Void>
    /// Gives up the relay lease, if `owner` holds it.
    func releaseRelayLease(owner: String) -> PendingWrite<Void>
    func undeliveredEventCount() async throws -> Int
    /// When the oldest undelivered event was committed; `nil` when every event is delivered.
    func oldestUndeliveredEventTime() async throws -> UnixMillis?
    /// Deletes up to `limit` delivered events committed before `cutoff`, oldest first (never one
    /// not yet delivered), and records that events before `cutoff` may be gone: the audit then
    /// looks only for the events of later payments. Only events before the first one committed at
    /// or after `cutoff` (in sequence order) go, so a pass costs what it deletes, not the whole
    /// outbox; one a few milliseconds out of order waits for the next pass. - Returns: how many
    /// were deleted.
    func pruneDeliveredEvents(before cutoff: UnixMillis, limit: Int) -> PendingWrite<Int>
}

/// The relay lease as its holder took it: where delivery stands, and how often the event at the
/// head has failed so far.
public struct RelayLease: Hashable, Sendable {
    /// Every event up to this sequence is delivered, for a store whose sequences are in commit
    /// order (SQLite: one writer). A store that records delivery per event (PostgreSQL, whose
    /// sequences several writers take out of commit order) says 0.
    public var deliveredThrough: Int64
    public var headAttempts: Int

    public init(deliveredThrough: Int64, headAttempts: Int) {
        self.deliveredThrough = deliveredThrough
        self.headAttempts = headAttempts
    }
}

/// One broken invariant.
public struct InvariantViolation: Hashable, Sendable {
    public var rule: String
    public var subject: String
    public var detail: String

    public init(rule: String, subject: String, detail: String) {
        self.rule = rule
        self.subject = subject
        self.detail = detail
    }
}

public protocol AuditStore: Sendable {
    /// Every invariant of the whole database, checked in one snapshot; empty when consistent.
    func checkInvariants() async throws -> [InvariantViolation]
}

/// Every port, as one store implements them.
public typealias CommerceStore = UserStore & BalanceStore & ProductStore & RankingStore & OrderStore & CouponStore
    & CartStore & OutboxStore & AuditStore

extension OrderStore {
    /// ``payOrder(_:user:at:traceParent:)`` outside any trace.
    public func payOrder(_ id: OrderID, user: UserID, at: UnixMillis) -> PendingWrite<OrderReceipt> {
        self.payOrder(id, user: user, at: at, traceParent: nil)
    }

    /// ``refundOrder(_:user:at:traceParent:)`` outside any trace.
    public func refundOrder(_ id: OrderID, user: UserID, at: UnixMillis) -> PendingWrite<RefundReceipt> {
        self.refundOrder(id, user: user, at: at, traceParent: nil)
    }
}
