import CommerceClient
import Foundation

/// After a write scenario: the invariants, checked through the API, then the server's own audit.
/// Returns the broken ones (empty when all hold).
func checkInvariants(scenario: Scenario, client: CommerceClient, fixture: Fixture, result: LoadResult) async throws -> [String] {
    func succeeded(_ method: String) -> Int64 {
        guard let stats = result.methods[method] else { return 0 }
        return Int64(stats.count - stats.errors.values.reduce(0, +))
    }
    // Calls during warm-up are not in the stats: count what the server holds instead where it matters.
    var broken: [String] = []
    var balances: Int64 = 0
    for user in fixture.userIDs { balances += try await client.getBalance(userID: user) }
    let initialBalances = fixture.charged * Int64(fixture.userIDs.count)

    switch scenario {
    case .getBalance, .read:
        return []
    case .charge:
        // Every charge is 1,000; replays charged nothing.
        var history: Int64 = 0
        for user in fixture.userIDs {
            var token = ""
            repeat {
                let page = try await client.listBalanceHistory(userID: user, pageSize: 500, pageToken: token)
                history += page.entries.reduce(0) { $0 + $1.amount }
                token = page.nextPageToken
            } while !token.isEmpty
        }
        if history != balances { broken.append("balances \(balances) but their histories sum to \(history)") }
    case .hotProduct, .order, .flashSale:
        let product = try await client.getProduct(productID: fixture.productIDs[0])
        let sold = fixture.initialStock - product.stock
        if product.stock < 0 { broken.append("oversold: stock \(product.stock)") }
        var spent: Int64 = 0
        var couponsHeld = 0
        for user in fixture.userIDs {
            var token = ""
            repeat {
                let page = try await client.listOrders(userID: user, pageSize: 500, pageToken: token)
                spent += page.orders.reduce(0) { $0 + $1.amountPaid }
                token = page.nextPageToken
            } while !token.isEmpty
            if scenario == .flashSale {
                let coupons = try await client.listUserCoupons(userID: user).filter { $0.campaign.id == fixture.campaignID }
                if coupons.count > 1 { broken.append("user \(user) holds \(coupons.count) coupons of one campaign") }
                couponsHeld += coupons.count
            }
        }
        if balances != initialBalances - spent {
            broken.append("balances \(balances) != charged \(initialBalances) - spent \(spent)")
        }
        if scenario == .hotProduct && sold > fixture.initialStock { broken.append("sold \(sold) of \(fixture.initialStock)") }
        if scenario == .hotProduct && succeeded("PlaceOrder") > sold { broken.append("\(succeeded("PlaceOrder")) orders succeeded but \(sold) units left stock") }
        if scenario == .flashSale {
            let campaignIssued = couponsHeld
            if succeeded("IssueCoupon+PlaceOrder") + succeeded("IssueCoupon") > Int64(campaignIssued) {
                broken.append("more coupons granted than held: \(campaignIssued) held")
            }
        }
    }
    for violation in try await client.audit() {
        broken.append("server audit: \(violation.rule) \(violation.subject): \(violation.detail)")
    }
    return broken
}
