import CommerceClient
import CommerceProto
import Foundation
import Synchronization

/// Balances a write scenario tops up during the run: a buyer refused INSUFFICIENT_BALANCE is charged
/// again (outside the measured calls, counted here), so a long run keeps measuring orders instead
/// of refusals. The refused call still counts as failed.
final class TopUps: Sendable {
    static let amount: Int64 = 900_000
    let count = Atomic<Int>(0)

    func afterRefusal(_ outcome: Outcome, user: Int64, client: CommerceClient) async -> Outcome {
        guard outcome.failure?.hasSuffix("/INSUFFICIENT_BALANCE") == true else { return outcome }
        if (try? await client.chargeBalance(userID: user, amount: Self.amount)) != nil {
            self.count.add(1, ordering: .relaxed)
        }
        return outcome
    }
}

extension Scenario {
    /// One call of the scenario; `sequence` numbers the calls of one run.
    func workload(
        client: CommerceClient,
        fixture: Fixture,
        topUps: TopUps,
        credentials: Credentials,
        listUser: Int64? = nil,
        pageSize: Int32 = 50,
        rankingDays: Int32 = 3
    ) -> @Sendable (_ sequence: Int) async -> Outcome {
        let users = fixture.userIDs
        let by = credentials.options
        switch self {
        case .getProduct:
            let products = fixture.productIDs
            return { sequence in
                await attempt("GetProduct") {
                    _ = try await client.getProduct(productID: products[sequence % products.count])
                }
            }
        case .listOrders:
            let user = listUser ?? users[0]
            return { _ in
                await attempt("ListOrders") {
                    _ = try await client.listOrders(userID: user, pageSize: pageSize, options: by(user))
                }
            }
        case .listHistory:
            let user = listUser ?? users[0]
            return { _ in
                await attempt("ListBalanceHistory") {
                    _ = try await client.listBalanceHistory(userID: user, pageSize: pageSize, options: by(user))
                }
            }
        case .cancelOrder:
            let products = fixture.productIDs
            return { sequence in
                let user = users[sequence % users.count]
                let product = products[sequence % products.count]
                var placed: Int64?
                let order = await topUps.afterRefusal(
                    await attempt("PlaceOrder") {
                        placed = try await client.placeOrder(userID: user, items: [(product, 1)], options: by(user))
                            .order.id
                    },
                    user: user,
                    client: client
                )
                guard let placed else { return order }
                return await attempt("CancelOrder") {
                    _ = try await client.cancelOrder(userID: user, orderID: placed, options: by(user))
                }
            }
        case .getBalance:
            return { sequence in
                await attempt("GetBalance") {
                    let user = users[sequence % users.count]
                    _ = try await client.getBalance(userID: user, options: by(user))
                }
            }
        case .health:
            return { _ in await attempt("Health/Check") { _ = try await client.health() } }
        case .read:
            let products = fixture.productIDs
            return { sequence in
                if sequence % 5 == 0 {
                    return await attempt("GetBalance") {
                        let user = users[sequence % users.count]
                        _ = try await client.getBalance(userID: user, options: by(user))
                    }
                }
                return await attempt("GetProduct") {
                    _ = try await client.getProduct(productID: products[sequence % products.count])
                }
            }
        case .topProducts:
            return { _ in
                await attempt("TopProducts") { _ = try await client.topProducts(days: rankingDays, limit: 5) }
            }
        case .chargeStorm:
            let runID = UUID().uuidString.prefix(8)
            return { sequence in
                let user = users[sequence % users.count]
                // Every 10th call repeats an earlier key of the same user: it must come back as a replay.
                let keySequence = sequence % 10 == 9 && sequence >= users.count ? sequence - users.count : sequence
                var replayed = false
                let outcome = await attempt("ChargeBalance") {
                    replayed = try await client.chargeBalance(
                        userID: user,
                        amount: 1_000,
                        idempotencyKey: "\(runID)-\(keySequence)",
                        options: by(user)
                    ).replayed
                }
                return replayed ? Outcome(method: "ChargeBalance(replayed)", failure: nil) : outcome
            }
        case .hotProduct, .order:
            let products = fixture.productIDs
            return { sequence in
                // Users and products vary independently (their counts may share factors).
                let mixed = UInt64(truncatingIfNeeded: sequence) &* 0x9E37_79B9_7F4A_7C15
                let product = products[Int((mixed >> 24) % UInt64(products.count))]
                let user = users[sequence % users.count]
                let outcome = await attempt("PlaceOrder") {
                    _ = try await client.placeOrder(userID: user, items: [(product, 1)], options: by(user))
                }
                return self == .order ? await topUps.afterRefusal(outcome, user: user, client: client) : outcome
            }
        case .flashSale:
            let (product, campaign) = (fixture.productIDs[0], fixture.campaignID)
            return { sequence in
                let user = users[sequence % users.count]
                var coupon: Commerce_V1_Coupon?
                let issued = await attempt("IssueCoupon") {
                    coupon = try await client.issueCoupon(userID: user, campaignID: campaign, options: by(user))
                }
                guard let coupon else { return issued }
                return await attempt("IssueCoupon+PlaceOrder") {
                    _ = try await client.placeOrder(
                        userID: user,
                        items: [(product, 1)],
                        couponID: coupon.id,
                        options: by(user)
                    )
                }
            }
        case .mixed:
            return Self.shopDay(client: client, users: users, products: fixture.productIDs, topUps: topUps)
        }
    }

    /// A shop's day, by share of calls: browsing 40 % (product pages, catalogue pages), best sellers 10 %,
    /// carts 25 % (add, look, check out), orders 15 %, charges and balance looks 10 %.
    private static func shopDay(
        client: CommerceClient,
        users: [Int64],
        products: [Int64],
        topUps: TopUps
    ) -> @Sendable (Int) async -> Outcome {
        let runID = UUID().uuidString.prefix(8)
        return { sequence in
            // A cheap mix of the sequence number, so user, product and action vary independently.
            let mixed = UInt64(truncatingIfNeeded: sequence) &* 0x9E37_79B9_7F4A_7C15
            let user = users[Int((mixed >> 8) % UInt64(users.count))]
            let product = products[Int((mixed >> 24) % UInt64(products.count))]
            switch sequence % 20 {
            case 0..<6:
                return await attempt("GetProduct") { _ = try await client.getProduct(productID: product) }
            case 6, 7:
                return await attempt("ListProducts") { _ = try await client.listProducts(pageSize: 20) }
            case 8, 9:
                return await attempt("TopProducts") { _ = try await client.topProducts(days: 3, limit: 5) }
            case 10, 11:
                return await attempt("AddToCart") {
                    _ = try await client.addToCart(userID: user, productID: product, quantity: 1)
                }
            case 12:
                return await attempt("GetCart") { _ = try await client.getCart(userID: user) }
            case 13, 14:
                return await topUps.afterRefusal(
                    await attempt("CheckoutCart") {
                        _ = try await client.checkoutCart(userID: user, idempotencyKey: "\(runID)-checkout-\(sequence)")
                    },
                    user: user,
                    client: client
                )
            case 15, 16, 17:
                let second = products[Int((mixed >> 40) % UInt64(products.count))]
                let items = second == product ? [(product, Int64(2))] : [(product, Int64(1)), (second, Int64(1))]
                return await topUps.afterRefusal(
                    await attempt("PlaceOrder") {
                        _ = try await client.placeOrder(
                            userID: user,
                            items: items,
                            idempotencyKey: "\(runID)-order-\(sequence)"
                        )
                    },
                    user: user,
                    client: client
                )
            case 18:
                return await attempt("ChargeBalance") {
                    _ = try await client.chargeBalance(
                        userID: user,
                        amount: 5_000,
                        idempotencyKey: "\(runID)-charge-\(sequence)"
                    )
                }
            default:
                return await attempt("GetBalance") { _ = try await client.getBalance(userID: user) }
            }
        }
    }

    var writes: Bool {
        switch self {
        case .getBalance, .health, .read, .topProducts, .getProduct, .listOrders, .listHistory: false
        case .chargeStorm, .hotProduct, .flashSale, .order, .mixed, .cancelOrder: true
        }
    }
}
