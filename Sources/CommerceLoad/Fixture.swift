import CommerceClient
import Foundation

/// Data a scenario works on, created through the API before the measured run.
struct Fixture: Sendable {
    var userIDs: [Int64]
    var productIDs: [Int64]

    static func prepare(client: CommerceClient, scenario: Scenario, users: Int) async throws -> Fixture {
        let count = scenario == .getBalance ? min(users, 16) : users
        var userIDs: [Int64] = []
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<count {
                group.addTask {
                    let user = try await client.createUser(name: "load-\(index)")
                    if scenario != .charge {
                        _ = try await client.chargeBalance(userID: user.id, amount: 10_000, idempotencyKey: "load-setup-\(user.id)")
                    }
                    return user.id
                }
            }
            for try await id in group { userIDs.append(id) }
        }
        var productIDs = try await client.listProducts(pageSize: 100).products.map(\.id)
        if productIDs.isEmpty && scenario == .read {
            guard client.adminToken != nil else {
                throw FixtureError(message: "the server has no products; pass --admin-token so the read scenario can create some")
            }
            for index in 0..<10 {
                productIDs.append(try await client.createProduct(name: "load product \(index)", price: 1_000, initialStock: 1_000).id)
            }
        }
        return Fixture(userIDs: userIDs, productIDs: productIDs)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

extension Scenario {
    /// One call of the scenario; `sequence` numbers the calls of one run.
    func workload(client: CommerceClient, fixture: Fixture) -> @Sendable (_ sequence: Int) async throws -> String {
        switch self {
        case .getBalance:
            return { sequence in
                _ = try await client.getBalance(userID: fixture.userIDs[sequence % fixture.userIDs.count])
                return "GetBalance"
            }
        case .read:
            return { sequence in
                if sequence % 5 == 0 {
                    _ = try await client.getBalance(userID: fixture.userIDs[sequence % fixture.userIDs.count])
                    return "GetBalance"
                }
                _ = try await client.getProduct(productID: fixture.productIDs[sequence % fixture.productIDs.count])
                return "GetProduct"
            }
        case .charge:
            let runID = UUID().uuidString.prefix(8)
            return { sequence in
                let user = fixture.userIDs[sequence % fixture.userIDs.count]
                // Every 10th call repeats the previous key of that user: it must be answered as a replay.
                let keySequence = sequence % 10 == 9 ? sequence - fixture.userIDs.count : sequence
                _ = try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "\(runID)-\(keySequence)")
                return "ChargeBalance"
            }
        }
    }
}
