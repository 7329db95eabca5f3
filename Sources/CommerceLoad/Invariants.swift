import CommerceClient
import CommerceProto
import Foundation

/// After a write scenario: the invariants, checked through the API, then the server's own audit.
/// Returns the broken ones (empty when all hold).
///
/// Calls made during warm-up are not in the run's statistics, so the checks compare what the
/// server holds with itself and with the fixture, not with the client's counts (except where a
/// count can only be an upper bound).
func checkInvariants(
    scenario: Scenario,
    client: CommerceClient,
    fixture: Fixture,
    result: LoadResult,
    serverAudit: Bool = true
) async throws -> [String] {
    guard scenario.writes else { return [] }
    var broken: [String] = []
    var soldByProduct: [Int64: Int64] = [:]
    var couponsHeld: Int64 = 0
    let withCoupons = scenario == .flashSale ? fixture.campaignID : nil
    for (user, account) in try await UserAccount.loadAll(fixture.userIDs, client: client, couponsOf: withCoupons) {
        // charged − spent + refunded = balance, entry by entry…
        if account.history.sum != account.balance {
            broken.append("user \(user): balance \(account.balance) but the history sums to \(account.history.sum)")
        }
        // …and what the history says was spent, less what it refunded, is what the user's paid
        // orders cost (a cancelled order's payment and refund cancel out).
        let paid = account.orders.filter { $0.status == .paid }
        let spent = paid.reduce(0) { $0 + $1.amountPaid }
        let net = -account.history.used - account.history.refunded
        if net != spent {
            broken.append(
                "user \(user): history spent \(-account.history.used), refunded \(account.history.refunded), but paid orders cost \(spent)"
            )
        }
        for order in paid {
            for line in order.lines { soldByProduct[line.productID, default: 0] += line.quantity }
        }
        if account.coupons > 1 { broken.append("user \(user) holds \(account.coupons) coupons of one campaign") }
        couponsHeld += Int64(account.coupons)
    }
    // stock + sold = initial, and never below zero.
    for product in fixture.productIDs {
        let initial = fixture.initialStock[product] ?? 0
        let stock = try await client.getProduct(productID: product).stock
        let sold = soldByProduct[product] ?? 0
        if stock < 0 { broken.append("product \(product) oversold: stock \(stock)") }
        if stock + sold != initial {
            broken.append("product \(product): stock \(stock) + sold \(sold) != initial \(initial)")
        }
    }
    if scenario == .flashSale {
        if couponsHeld > fixture.couponQuantity {
            broken.append("\(couponsHeld) coupons issued of \(fixture.couponQuantity)")
        }
        let granted = result.succeeded("IssueCoupon") + result.succeeded("IssueCoupon+PlaceOrder")
        if granted > couponsHeld {
            broken.append("the client was granted \(granted) coupons but users hold \(couponsHeld)")
        }
    }
    if scenario == .hotProduct, let product = fixture.productIDs.first,
        result.succeeded("PlaceOrder") > soldByProduct[product] ?? 0
    {
        broken.append(
            "\(result.succeeded("PlaceOrder")) orders succeeded but \(soldByProduct[product] ?? 0) units were sold"
        )
    }
    for violation in serverAudit ? try await client.audit() : [] {
        broken.append("server audit: \(violation.rule) \(violation.subject): \(violation.detail)")
    }
    return broken
}

/// One user as the API shows it: balance, full history, every order.
struct UserAccount {
    struct History {
        var sum: Int64 = 0
        /// The USE entries' total (negative).
        var used: Int64 = 0
        /// The REFUND entries' total (positive).
        var refunded: Int64 = 0
    }

    var balance: Int64
    var history: History
    var orders: [Commerce_V1_Order]
    /// Coupons of the campaign asked for (0 when none was).
    var coupons = 0

    /// Every user's account, 64 loads at a time, in the order given.
    static func loadAll(
        _ users: [Int64],
        client: CommerceClient,
        couponsOf campaign: Int64?
    ) async throws -> [(Int64, UserAccount)] {
        try await withThrowingTaskGroup(of: (Int, UserAccount).self) { group in
            var accounts: [(Int, UserAccount)] = []
            for (index, user) in users.enumerated() {
                if index >= 64, let loaded = try await group.next() { accounts.append(loaded) }
                group.addTask {
                    var account = try await UserAccount.load(user, client: client)
                    if let campaign {
                        account.coupons = try await client.listUserCoupons(userID: user).filter {
                            $0.campaign.id == campaign
                        }.count
                    }
                    return (index, account)
                }
            }
            for try await loaded in group { accounts.append(loaded) }
            return accounts.sorted { $0.0 < $1.0 }.map { (users[$0.0], $0.1) }
        }
    }

    static func load(_ user: Int64, client: CommerceClient) async throws -> UserAccount {
        let balance = try await client.getBalance(userID: user)
        var history = History()
        var token = ""
        repeat {
            let page = try await client.listBalanceHistory(userID: user, pageSize: 500, pageToken: token)
            for entry in page.entries {
                history.sum += entry.amount
                if entry.type == .use { history.used += entry.amount }
                if entry.type == .refund { history.refunded += entry.amount }
            }
            token = page.nextPageToken
        } while !token.isEmpty
        var orders: [Commerce_V1_Order] = []
        token = ""
        repeat {
            let page = try await client.listOrders(userID: user, pageSize: 500, pageToken: token)
            orders += page.orders
            token = page.nextPageToken
        } while !token.isEmpty
        return UserAccount(balance: balance, history: history, orders: orders)
    }
}

extension LoadResult {
    /// Measured calls of `method` that succeeded.
    func succeeded(_ method: String) -> Int64 {
        guard let stats = self.methods[method] else { return 0 }
        return Int64(stats.count - stats.errors.values.reduce(0, +))
    }
}
