import CommerceClient
import CommerceProto
import FrameRPC
import Foundation

/// What one call of a scenario did: the method, and the failure reason if it failed.
struct Outcome: Sendable {
    var method: String
    var failure: String?
}

/// Runs `body` as `method`, turning its error into the outcome's failure reason.
func attempt(_ method: String, _ body: () async throws -> Void) async -> Outcome {
    do {
        try await body()
        return Outcome(method: method, failure: nil)
    } catch let error as RPCError {
        return Outcome(method: method, failure: "\(error.code.name)/\(error.reason)")
    } catch {
        return Outcome(method: method, failure: "CLIENT/\(type(of: error))")
    }
}

/// Data a scenario works on, created through the API before the measured run.
struct Fixture: Sendable {
    var userIDs: [Int64]
    var charged: Int64
    var productIDs: [Int64]
    var productPrice: Int64
    var initialStock: Int64
    var campaignID: Int64

    struct Sizes: Sendable {
        var users: Int
        var stock: Int64
        var coupons: Int64
    }

    static func prepare(client: CommerceClient, scenario: Scenario, sizes: Sizes) async throws -> Fixture {
        let count = scenario == .getBalance ? min(sizes.users, 16) : sizes.users
        let charge: Int64 =
            switch scenario {
            case .charge: 0
            case .order: 1_000_000
            default: 10_000
            }
        var userIDs: [Int64] = []
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<count {
                group.addTask {
                    let user = try await client.createUser(name: "load-\(index)")
                    if charge > 0 {
                        _ = try await client.chargeBalance(userID: user.id, amount: charge, idempotencyKey: "load-setup-\(user.id)")
                    }
                    return user.id
                }
            }
            for try await id in group { userIDs.append(id) }
        }
        var fixture = Fixture(userIDs: userIDs, charged: charge, productIDs: [], productPrice: 1_000, initialStock: 0, campaignID: 0)
        if scenario.writes && client.adminToken == nil {
            throw FixtureError(message: "the \(scenario.rawValue) scenario checks the server's audit afterwards: pass --admin-token")
        }
        switch scenario {
        case .getBalance, .charge:
            break
        case .read:
            fixture.productIDs = try await client.listProducts(pageSize: 100).products.map(\.id)
            if fixture.productIDs.isEmpty {
                guard client.adminToken != nil else {
                    throw FixtureError(message: "the server has no products; pass --admin-token so the read scenario can create some")
                }
                for index in 0..<10 {
                    fixture.productIDs.append(try await client.createProduct(name: "load product \(index)", price: 1_000, initialStock: 1_000).id)
                }
            }
        case .hotProduct:
            fixture.initialStock = sizes.stock
            fixture.productIDs = [try await client.createProduct(name: "hot product", price: fixture.productPrice, initialStock: sizes.stock).id]
        case .order:
            fixture.initialStock = 1_000_000_000
            fixture.productIDs = [try await client.createProduct(name: "everyday product", price: fixture.productPrice, initialStock: fixture.initialStock).id]
        case .flashSale:
            fixture.productPrice = 5_000
            fixture.initialStock = 1_000_000_000
            fixture.productIDs = [try await client.createProduct(name: "flash sale product", price: fixture.productPrice, initialStock: fixture.initialStock).id]
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            fixture.campaignID = try await client.createCouponCampaign(
                name: "flash sale", kind: .fixed, amount: 1_000, totalQuantity: sizes.coupons,
                validFromUnixMs: now - 60_000, validUntilUnixMs: now + 86_400_000).id
        }
        return fixture
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

extension Scenario {
    /// One call of the scenario; `sequence` numbers the calls of one run.
    func workload(client: CommerceClient, fixture: Fixture) -> @Sendable (_ sequence: Int) async -> Outcome {
        let users = fixture.userIDs
        switch self {
        case .getBalance:
            return { sequence in
                await attempt("GetBalance") { _ = try await client.getBalance(userID: users[sequence % users.count]) }
            }
        case .read:
            let products = fixture.productIDs
            return { sequence in
                if sequence % 5 == 0 {
                    return await attempt("GetBalance") { _ = try await client.getBalance(userID: users[sequence % users.count]) }
                }
                return await attempt("GetProduct") { _ = try await client.getProduct(productID: products[sequence % products.count]) }
            }
        case .charge:
            let runID = UUID().uuidString.prefix(8)
            return { sequence in
                let user = users[sequence % users.count]
                // Every 10th call repeats an earlier key of the same user: it must come back as a replay.
                let keySequence = sequence % 10 == 9 && sequence >= users.count ? sequence - users.count : sequence
                var replayed = false
                let outcome = await attempt("ChargeBalance") {
                    replayed = try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "\(runID)-\(keySequence)").replayed
                }
                return replayed ? Outcome(method: "ChargeBalance(replayed)", failure: nil) : outcome
            }
        case .hotProduct, .order:
            let product = fixture.productIDs[0]
            return { sequence in
                await attempt("PlaceOrder") { _ = try await client.placeOrder(userID: users[sequence % users.count], items: [(product, 1)]) }
            }
        case .flashSale:
            let (product, campaign) = (fixture.productIDs[0], fixture.campaignID)
            return { sequence in
                let user = users[sequence % users.count]
                var coupon: Commerce_V1_Coupon?
                let issued = await attempt("IssueCoupon") { coupon = try await client.issueCoupon(userID: user, campaignID: campaign) }
                guard let coupon else { return issued }
                return await attempt("IssueCoupon+PlaceOrder") {
                    _ = try await client.placeOrder(userID: user, items: [(product, 1)], couponID: coupon.id)
                }
            }
        }
    }

    var writes: Bool {
        switch self {
        case .getBalance, .read: false
        case .charge, .hotProduct, .flashSale, .order: true
        }
    }
}
