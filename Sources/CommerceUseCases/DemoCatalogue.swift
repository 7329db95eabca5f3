import CommerceDomain

/// The demo data set `commerce-server seed --demo` loads: a small catalogue, a welcome coupon
/// campaign, and a few users with charged balances (charged through the ledger, so their history
/// adds up).
public enum DemoCatalogue {
    public static let products: [(name: String, price: Won, stock: Int64)] = [
        ("Mechanical keyboard", 89_000, 120),
        ("Wireless mouse", 25_000, 300),
        ("27-inch monitor", 329_000, 40),
        ("USB-C hub", 39_000, 250),
        ("Noise-cancelling headphones", 199_000, 60),
        ("Laptop stand", 45_000, 150),
        ("Webcam 1080p", 59_000, 90),
        ("Desk lamp", 32_000, 200),
        ("Ergonomic chair", 289_000, 25),
        ("Limited sneakers (flash sale)", 159_000, 10),
    ]

    public static let users: [(name: String, charge: Won)] = [
        ("Kim Minji", 500_000), ("Lee Jun", 300_000), ("Park Seoyeon", 100_000), ("Choi Hyun", 50_000), ("Jung Ara", 0),
    ]

    /// Campaign 1 of the demo: 5,000 won off, 1,000 coupons, valid for a year from seeding.
    public static let welcomeCampaign = (name: "Welcome: 5,000 won off", won: Won(5_000), quantity: Int64(1_000))

    /// Loads the demo set, through the store's ports, unless the database already has products or users.
    /// - Returns: false when it was not empty (nothing written).
    @discardableResult
    public static func seed(
        into store: some CommerceStore,
        clock: @Sendable () -> UnixMillis = systemClock
    ) async throws -> Bool {
        let hasProducts = try await !store.products(page: PageQuery(size: 1, after: nil)).items.isEmpty
        guard !hasProducts, try await store.user(UserID(1)) == nil else { return false }
        for product in self.products {
            _ = try await store.createProduct(
                name: product.name,
                price: product.price,
                stock: product.stock,
                at: clock()
            ).value
        }
        let now = clock()
        _ = try await store.createCampaign(
            NewCampaign(
                name: welcomeCampaign.name,
                discount: .fixed(won: welcomeCampaign.won),
                totalQuantity: welcomeCampaign.quantity,
                validFrom: now,
                validUntil: now + 365 * 86_400_000
            ),
            at: now
        ).value
        for user in self.users {
            let created = try await store.createUser(name: user.name, at: clock()).value
            if user.charge > 0 {
                _ = try await store.charge(
                    ChargeCommand(
                        userID: created.id,
                        amount: user.charge,
                        idempotencyKey: "demo-seed",
                        policy: .standard,
                        at: clock()
                    )
                ).value
            }
        }
        return true
    }
}
