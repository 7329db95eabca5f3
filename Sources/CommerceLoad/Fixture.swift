import CommerceClient
import CommerceProto
import Foundation
import FrameRPC

/// What one call of a scenario did: the method, and the failure reason if it failed. A call whose
/// outcome the client cannot know (its connection closed after it was sent, it timed out, or the
/// run's drain ended it) is `unknown`: it may or may not have taken effect.
struct Outcome: Sendable {
    var method: String
    var failure: String?
    var unknown = false
}

/// Runs `body` as `method`, turning its error into the outcome's failure reason.
func attempt(_ method: String, _ body: () async throws -> Void) async -> Outcome {
    do {
        try await body()
        return Outcome(method: method, failure: nil)
    } catch let error as RPCError {
        let unknown =
            error.reason == WireReason.connectionClosed || error.code == .deadlineExceeded || error.code == .cancelled
        return Outcome(method: method, failure: "\(error.code.name)/\(error.reason)", unknown: unknown)
    } catch is CancellationError {
        return Outcome(method: method, failure: "CLIENT/CANCELLED", unknown: true)
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
    /// Stock each fixture product started with.
    var initialStock: [Int64: Int64]
    var campaignID: Int64
    var couponQuantity: Int64 = 0

    struct Sizes: Sendable {
        var users: Int
        var stock: Int64
        var coupons: Int64
        /// order: how many products the orders spread over.
        var products: Int = 1
    }

    static func prepare(client: CommerceClient, scenario: Scenario, sizes: Sizes) async throws -> Fixture {
        let count =
            switch scenario {
            case .health: 0
            case .getBalance, .getProduct, .listOrders, .listHistory: min(sizes.users, 16)
            default: sizes.users
            }
        let charge: Int64 =
            switch scenario {
            case .chargeStorm: 0
            case .order, .cancelOrder: 1_000_000
            case .mixed: 100_000
            default: 10_000
            }
        var userIDs: [Int64] = []
        // At most `setUpWidth` set-up calls in flight: the server bounds calls per connection.
        let setUpWidth = 128
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<count {
                if index >= setUpWidth, let id = try await group.next() { userIDs.append(id) }
                group.addTask {
                    let user = try await client.createUser(name: "load-\(index)")
                    if charge > 0 {
                        _ = try await client.chargeBalance(
                            userID: user.id,
                            amount: charge,
                            idempotencyKey: "load-setup-\(user.id)"
                        )
                    }
                    return user.id
                }
            }
            for try await id in group { userIDs.append(id) }
        }
        var fixture = Fixture(
            userIDs: userIDs,
            charged: charge,
            productIDs: [],
            productPrice: 1_000,
            initialStock: [:],
            campaignID: 0
        )
        if scenario.writes && client.adminToken == nil {
            throw FixtureError(
                message: "the \(scenario.rawValue) scenario checks the server's audit afterwards: pass --admin-token"
            )
        }
        switch scenario {
        case .getBalance, .health, .chargeStorm, .listOrders, .listHistory:
            break
        case .read, .topProducts, .getProduct:
            fixture.productIDs = try await client.listProducts(pageSize: 100).products.map(\.id)
            if fixture.productIDs.isEmpty {
                guard client.adminToken != nil else {
                    throw FixtureError(
                        message: "the server has no products; pass --admin-token so the read scenario can create some"
                    )
                }
                for index in 0..<10 {
                    fixture.productIDs.append(
                        try await client.createProduct(name: "load product \(index)", price: 1_000, initialStock: 1_000)
                            .id
                    )
                }
            }
        case .hotProduct:
            try await fixture.addProduct(client, name: "hot product", stock: sizes.stock)
        case .order, .cancelOrder:
            for index in 0..<max(1, sizes.products) {
                try await fixture.addProduct(client, name: "everyday product \(index)", stock: 1_000_000_000)
            }
        case .mixed:
            // A small shop: a few products sell out during a long run, most do not.
            for index in 0..<20 {
                try await fixture.addProduct(
                    client,
                    name: "shop product \(index)",
                    price: Int64(500 + 250 * index),
                    stock: index < 3 ? sizes.stock : 1_000_000
                )
            }
        case .flashSale:
            fixture.productPrice = 5_000
            fixture.couponQuantity = sizes.coupons
            try await fixture.addProduct(client, name: "flash sale product", stock: 1_000_000_000)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            fixture.campaignID = try await client.createCouponCampaign(
                name: "flash sale",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: sizes.coupons,
                validFromUnixMs: now - 60_000,
                validUntilUnixMs: now + 86_400_000
            ).id
        }
        return fixture
    }

    mutating func addProduct(_ client: CommerceClient, name: String, price: Int64? = nil, stock: Int64) async throws {
        let product = try await client.createProduct(name: name, price: price ?? self.productPrice, initialStock: stock)
        self.productIDs.append(product.id)
        self.initialStock[product.id] = stock
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
