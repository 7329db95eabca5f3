import CommerceDomain
import Metrics

/// What the shop did, for an operator's dashboard (`deploy/`): every series made once, with
/// low-cardinality labels only (a coupon refusal's reason, from a fixed list).
///
/// - `commerce_orders_paid_total`, `commerce_orders_paid_won_total`: orders paid (one step, the
///   second step of two, a cart checkout), and the won they paid; replays of an idempotency key
///   are not counted again.
/// - `commerce_orders_refunded_total`, `commerce_orders_refunded_won_total`: paid orders refunded.
/// - `commerce_coupons_issued_total`; `commerce_coupons_refused_total{reason}`.
/// - `commerce_out_of_stock_refusals_total`: orders, checkouts and cart changes refused `OUT_OF_STOCK`.
enum ShopMetrics {
    static let ordersPaid = Counter(label: "commerce_orders_paid_total")
    static let wonPaid = Counter(label: "commerce_orders_paid_won_total")
    static let ordersRefunded = Counter(label: "commerce_orders_refunded_total")
    static let wonRefunded = Counter(label: "commerce_orders_refunded_won_total")
    static let couponsIssued = Counter(label: "commerce_coupons_issued_total")
    static let outOfStock = Counter(label: "commerce_out_of_stock_refusals_total")

    /// The reasons an issuance is refused for; any other is counted as `OTHER`.
    static let couponReasons: [CommerceError.Reason] = [
        .couponSoldOut, .couponAlreadyIssued, .campaignNotOpen, .campaignNotFound, .userNotFound, .invalidCampaignID,
    ]
    static let couponRefusals: [String: Counter] = Dictionary(
        uniqueKeysWithValues: (Self.couponReasons.map(\.rawValue) + ["OTHER"]).map {
            ($0, Counter(label: "commerce_coupons_refused_total", dimensions: [("reason", $0)]))
        }
    )

    /// Makes every series now, so that each is in `/metrics` (at 0) from the start.
    static func register() {
        _ = (Self.ordersPaid, Self.wonPaid, Self.ordersRefunded, Self.wonRefunded, Self.couponsIssued, Self.outOfStock)
        _ = (Self.couponRefusals, StoreMetrics.refusals)
    }

    static func paid(_ receipt: OrderReceipt) -> OrderReceipt {
        if !receipt.replayed {
            Self.ordersPaid.increment()
            Self.wonPaid.increment(by: receipt.order.amountPaid)
        }
        return receipt
    }

    static func refunded(_ receipt: RefundReceipt) -> RefundReceipt {
        if receipt.refunded > 0 {
            Self.ordersRefunded.increment()
            Self.wonRefunded.increment(by: receipt.refunded)
        }
        return receipt
    }

    /// Runs `body`, counting an `OUT_OF_STOCK` refusal.
    static func countingStock<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CommerceError where error.reason == .outOfStock {
            Self.outOfStock.increment()
            throw error
        }
    }

    /// Runs an issuance, counting what it issued or why it refused.
    static func issuing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let issued = try await body()
            Self.couponsIssued.increment()
            return issued
        } catch let error as CommerceError {
            (Self.couponRefusals[error.reason.rawValue] ?? Self.couponRefusals["OTHER"])?.increment()
            throw error
        }
    }
}

/// Calls the store could not take, by reason (`commerce_storage_refusals_total{reason}`): a busy
/// or unreachable database, a full disk, a full write queue. Both stores' refusals, counted where
/// every method's errors pass.
enum StoreMetrics {
    static let reasons: [CommerceError.Reason] = [.storageBusy, .storageUnavailable, .storageFull, .writeQueueFull]
    static let refusals: [String: Counter] = Dictionary(
        uniqueKeysWithValues: Self.reasons.map(\.rawValue).map {
            ($0, Counter(label: "commerce_storage_refusals_total", dimensions: [("reason", $0)]))
        }
    )

    static func refused(_ error: CommerceError) {
        Self.refusals[error.reason.rawValue]?.increment()
    }
}
